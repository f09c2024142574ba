//! `StopTracker`: every open position's stop, updated on every price.
//!
//! Layout: positions live in one `Vec` per symbol (compact structs, hot
//! fields first), so a price of a symbol walks a contiguous slice; a
//! `HashMap` maps a position id to its (symbol, index) and a closed
//! position is swap-removed. Events go into one reusable `Vec`: an update
//! that closes nothing allocates nothing.
use std::collections::HashMap;

use super::event::{AdjustReason, CloseReason, StopEvent};
use super::plan::StopPlan;
use super::position::{Outcome, Position, PositionSide, StopKind};
use crate::error::{CoreError, CoreResult};
use crate::fills::{Bar, IntrabarPath};

/// A position to start tracking. Prices in ticks, quantity in steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPosition<'a> {
    pub id: u64,
    pub symbol: &'a str,
    pub side: PositionSide,
    pub entry: i64,
    pub stop: i64,
    pub qty: i64,
    /// Entry time, ms (for the time stop).
    pub opened_at: i64,
}

/// A read-only view of a tracked position (real prices, in ticks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionView {
    pub id: u64,
    pub symbol: String,
    pub side: PositionSide,
    pub entry: i64,
    pub initial_stop: i64,
    pub stop: i64,
    pub stop_kind: StopKind,
    /// Best price seen: the highest for a long, the lowest for a short.
    pub peak: i64,
    pub qty: i64,
    pub initial_qty: i64,
    pub opened_at: i64,
    pub bars: u32,
    /// Index of the next take-profit level.
    pub next_take_profit: usize,
    pub plan: StopPlan,
}

/// Handle of a symbol, for the fast path ([`StopTracker::on_price_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolId(u32);

#[derive(Debug, Clone, Default)]
struct Book {
    name: String,
    positions: Vec<Position>,
    /// The latest ATR, in ticks (NaN until one is given).
    atr: f64,
}

/// The stop tracker.
#[derive(Debug, Clone, Default)]
pub struct StopTracker {
    intrabar: IntrabarPath,
    plans: Vec<StopPlan>,
    plan_ids: HashMap<StopPlan, u32>,
    symbols: HashMap<String, u32>,
    books: Vec<Book>,
    index: HashMap<u64, (u32, u32)>,
    events: Vec<StopEvent>,
}

impl StopTracker {
    /// A tracker replaying candles along `intrabar` (the fill model's rule).
    #[must_use]
    pub fn new(intrabar: IntrabarPath) -> Self {
        Self { intrabar, ..Self::default() }
    }

    #[must_use]
    pub fn intrabar(&self) -> IntrabarPath {
        self.intrabar
    }

    /// Open positions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    #[must_use]
    pub fn contains(&self, id: u64) -> bool {
        self.index.contains_key(&id)
    }

    /// The handle of a symbol that has (or had) positions.
    #[must_use]
    pub fn symbol_id(&self, symbol: &str) -> Option<SymbolId> {
        self.symbols.get(symbol).map(|&s| SymbolId(s))
    }

    fn book_for(&mut self, symbol: &str) -> u32 {
        if let Some(&s) = self.symbols.get(symbol) {
            return s;
        }
        let s = u32::try_from(self.books.len()).unwrap_or(u32::MAX);
        self.books.push(Book { name: symbol.to_owned(), positions: Vec::new(), atr: f64::NAN });
        self.symbols.insert(symbol.to_owned(), s);
        s
    }

    fn plan_for(&mut self, plan: &StopPlan) -> u32 {
        if let Some(&p) = self.plan_ids.get(plan) {
            return p;
        }
        let p = u32::try_from(self.plans.len()).unwrap_or(u32::MAX);
        self.plans.push(plan.clone());
        self.plan_ids.insert(plan.clone(), p);
        p
    }

    /// Starts tracking a position.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] when the id is already tracked, the
    /// quantity or the entry is not positive, the stop is not on the losing
    /// side of the entry (below for a long, above for a short), or the plan
    /// is invalid.
    pub fn add(&mut self, new: &NewPosition<'_>, plan: &StopPlan) -> CoreResult<()> {
        if self.index.contains_key(&new.id) {
            return Err(CoreError::param("position_id", format!("{} is already tracked", new.id)));
        }
        if new.qty <= 0 {
            return Err(CoreError::param("qty", format!("must be > 0, got {}", new.qty)));
        }
        if new.entry <= 0 || new.stop <= 0 {
            return Err(CoreError::param("entry", "entry and stop must be > 0"));
        }
        let wrong = match new.side {
            PositionSide::Long => new.stop >= new.entry,
            PositionSide::Short => new.stop <= new.entry,
        };
        if wrong {
            let (side, want) = match new.side {
                PositionSide::Long => ("long", "below"),
                PositionSide::Short => ("short", "above"),
            };
            return Err(CoreError::param(
                "stop",
                format!("a {side} position's stop ({}) must be {want} its entry ({})", new.stop, new.entry),
            ));
        }
        plan.validate()?;
        let plan_id = self.plan_for(plan);
        let s = self.book_for(new.symbol);
        let book = &mut self.books[s as usize];
        let i = u32::try_from(book.positions.len()).unwrap_or(u32::MAX);
        book.positions.push(Position::new(plan_id, &self.plans[plan_id as usize], new));
        self.index.insert(new.id, (s, i));
        Ok(())
    }

    fn view(&self, s: u32, i: u32) -> PositionView {
        let book = &self.books[s as usize];
        let p = &book.positions[i as usize];
        PositionView {
            id: p.id,
            symbol: book.name.clone(),
            side: if p.dir > 0 { PositionSide::Long } else { PositionSide::Short },
            entry: p.real(p.entry),
            initial_stop: p.real(p.entry - p.risk),
            stop: p.real(p.stop),
            stop_kind: p.kind,
            peak: p.real(p.peak),
            qty: p.qty,
            initial_qty: p.initial_qty,
            opened_at: p.opened_at,
            bars: p.bars,
            next_take_profit: usize::from(p.next_tp),
            plan: self.plans[p.plan as usize].clone(),
        }
    }

    /// A snapshot of one position.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<PositionView> {
        self.index.get(&id).map(|&(s, i)| self.view(s, i))
    }

    /// Snapshots of every position, by symbol then insertion (swap-removal
    /// reorders).
    #[must_use]
    pub fn positions(&self) -> Vec<PositionView> {
        let mut v = Vec::with_capacity(self.len());
        for (s, b) in self.books.iter().enumerate() {
            for i in 0..b.positions.len() {
                v.push(self.view(s as u32, i as u32));
            }
        }
        v
    }

    fn swap_remove(&mut self, s: u32, i: u32) -> Position {
        let book = &mut self.books[s as usize];
        let p = book.positions.swap_remove(i as usize);
        self.index.remove(&p.id);
        if let Some(moved) = book.positions.get(i as usize) {
            self.index.insert(moved.id, (s, i));
        }
        p
    }

    /// Stops tracking a position without an event; its last state.
    pub fn remove(&mut self, id: u64) -> Option<PositionView> {
        let &(s, i) = self.index.get(&id)?;
        let v = self.view(s, i);
        self.swap_remove(s, i);
        Some(v)
    }

    fn locate(&self, id: u64) -> CoreResult<(u32, u32)> {
        self.index.get(&id).copied().ok_or_else(|| CoreError::param("position_id", format!("{id} is not tracked")))
    }

    /// Moves a stop by hand; only in the position's favour.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] for an unknown id, a stop `<= 0`, or
    /// a stop that would loosen (or not move).
    pub fn set_stop(&mut self, id: u64, stop: i64, ts: i64) -> CoreResult<&[StopEvent]> {
        if stop <= 0 {
            return Err(CoreError::param("stop", format!("must be > 0, got {stop}")));
        }
        let (s, i) = self.locate(id)?;
        self.events.clear();
        let p = &mut self.books[s as usize].positions[i as usize];
        let x = i64::from(p.dir) * stop;
        if x <= p.stop {
            return Err(CoreError::param(
                "stop",
                format!("{stop} would not tighten the stop of position {id} (now {})", p.real(p.stop)),
            ));
        }
        p.set_stop(x, AdjustReason::Manual, ts, &mut self.events);
        Ok(&self.events)
    }

    /// Reduces a position by `qty` steps sold outside the tracker (a
    /// manual partial sale): the stop, the peak and the plan's progress
    /// stay; the take-profit fractions still to come apply to what is left
    /// (the initial quantity is scaled in proportion). Its new state.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] for an unknown id or a `qty` outside
    /// `1..position qty` (selling everything is a close).
    pub fn reduce(&mut self, id: u64, qty: i64) -> CoreResult<PositionView> {
        let (s, i) = self.locate(id)?;
        let p = &mut self.books[s as usize].positions[i as usize];
        if qty <= 0 || qty >= p.qty {
            return Err(CoreError::param(
                "qty",
                format!("must be between 1 and {} steps (the rest of position {id}), got {qty}", p.qty - 1),
            ));
        }
        let left = p.qty - qty;
        let scaled = i128::from(p.initial_qty) * i128::from(left) / i128::from(p.qty);
        p.initial_qty = i64::try_from(scaled).unwrap_or(left).max(left);
        p.qty = left;
        Ok(self.view(s, i))
    }

    /// Closes a position by hand at `price` (reason `Manual`).
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] for an unknown id or a price `<= 0`.
    pub fn close(&mut self, id: u64, price: i64, ts: i64) -> CoreResult<&[StopEvent]> {
        if price <= 0 {
            return Err(CoreError::param("price", format!("must be > 0, got {price}")));
        }
        let (s, i) = self.locate(id)?;
        self.events.clear();
        let mut p = self.swap_remove(s, i);
        p.close_at(CloseReason::Manual, price, ts, &mut self.events);
        Ok(&self.events)
    }

    /// Sets a symbol's ATR (in ticks) for the chandelier stops, applied at
    /// the next price.
    pub fn set_atr(&mut self, symbol: &str, atr_ticks: f64) {
        let s = self.book_for(symbol);
        self.books[s as usize].atr = atr_ticks;
        for p in &mut self.books[s as usize].positions {
            p.dirty = true;
        }
    }

    /// One price of a symbol (a trade or a tick), in ticks, at `ts` ms,
    /// optionally with a new ATR in ticks. Returns the events it produced.
    /// A price `<= 0` is not a market price and is ignored.
    pub fn on_price(&mut self, symbol: &str, price: i64, ts: i64, atr_ticks: Option<f64>) -> &[StopEvent] {
        self.events.clear();
        if let Some(s) = self.symbol_id(symbol) {
            self.price_into(s, price, ts, atr_ticks);
        }
        &self.events
    }

    /// [`Self::on_price`] by symbol handle.
    pub fn on_price_id(&mut self, symbol: SymbolId, price: i64, ts: i64, atr_ticks: Option<f64>) -> &[StopEvent] {
        self.events.clear();
        self.price_into(symbol, price, ts, atr_ticks);
        &self.events
    }

    /// Many prices of one symbol, oldest first (`ts` of the same length);
    /// the events of all of them.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] when the lengths differ.
    pub fn on_prices(&mut self, symbol: &str, prices: &[i64], ts: &[i64]) -> CoreResult<&[StopEvent]> {
        if prices.len() != ts.len() {
            return Err(CoreError::InvalidInput(format!("prices has {} values but ts has {}", prices.len(), ts.len())));
        }
        self.events.clear();
        if let Some(s) = self.symbol_id(symbol) {
            for (&p, &t) in prices.iter().zip(ts) {
                if self.books[s.0 as usize].positions.is_empty() {
                    break;
                }
                self.price_into(s, p, t, None);
            }
        }
        Ok(&self.events)
    }

    fn price_into(&mut self, s: SymbolId, price: i64, ts: i64, atr_ticks: Option<f64>) {
        if price <= 0 {
            return; // not a market price
        }
        let book = &mut self.books[s.0 as usize];
        if let Some(a) = atr_ticks {
            book.atr = a;
        }
        let refresh = atr_ticks.is_some();
        let atr = book.atr;
        let mut i = 0;
        while i < book.positions.len() {
            let p = &mut book.positions[i];
            let x = i64::from(p.dir) * price;
            match p.on_price(&self.plans[p.plan as usize], x, ts, false, atr, refresh, &mut self.events) {
                Outcome::Open => i += 1,
                Outcome::Closed => {
                    let gone = book.positions.swap_remove(i);
                    self.index.remove(&gone.id);
                    if let Some(moved) = book.positions.get(i) {
                        self.index.insert(moved.id, (s.0, i as u32));
                    }
                }
            }
        }
    }

    /// One closed candle of a symbol (prices in ticks; volume ignored),
    /// replayed along the intrabar path: the open as a jump from the last
    /// price, then continuous moves, so a stop or level crossed inside the
    /// candle exits at the level itself. Then each position counts one more
    /// bar (the bar time stop closes at the close), and the new ATR, if
    /// given, takes effect at the close (no look-ahead inside the candle).
    pub fn on_candle(&mut self, symbol: &str, bar: &Bar, atr_ticks: Option<f64>) -> &[StopEvent] {
        self.events.clear();
        let Some(s) = self.symbol_id(symbol) else { return &self.events };
        if bar.low <= 0 {
            return &self.events; // not market prices
        }
        let points = self.intrabar.points(bar);
        let book = &mut self.books[s.0 as usize];
        // The ATR known before this candle is used along its path; the new
        // one (computed at its close) is applied at the close.
        let mut i = 0;
        while i < book.positions.len() {
            let p = &mut book.positions[i];
            let plan = &self.plans[p.plan as usize];
            let dir = i64::from(p.dir);
            let mut closed = false;
            for (k, pt) in points.iter().enumerate() {
                if pt.ts < p.opened_at {
                    continue; // the path before the fill (a position opened inside the candle)
                }
                let out = p.on_price(plan, dir * pt.price, pt.ts, k > 0, book.atr, false, &mut self.events);
                if matches!(out, Outcome::Closed) {
                    closed = true;
                    break;
                }
            }
            if !closed {
                if p.opened_at <= bar.open_time {
                    p.bars += 1; // candles held from their open
                }
                let close_x = dir * bar.close;
                if plan.time_stop_bars > 0 && p.bars >= plan.time_stop_bars {
                    p.close_at(CloseReason::TimeStop, bar.close, bar.close_time, &mut self.events);
                    closed = true;
                } else if let Some(a) = atr_ticks {
                    p.adjust(plan, a, bar.close_time, &mut self.events);
                    if close_x <= p.stop {
                        let reason = match p.kind {
                            StopKind::Trailing => CloseReason::TrailingStop,
                            StopKind::BreakEven => CloseReason::BreakEvenStop,
                            StopKind::Initial | StopKind::Manual => CloseReason::StopLoss,
                        };
                        p.close_at(reason, bar.close, bar.close_time, &mut self.events);
                        closed = true;
                    }
                }
            }
            if closed {
                let gone = book.positions.swap_remove(i);
                self.index.remove(&gone.id);
                if let Some(moved) = book.positions.get(i) {
                    self.index.insert(moved.id, (s.0, i as u32));
                }
            } else {
                i += 1;
            }
        }
        if let Some(a) = atr_ticks {
            book.atr = a;
        }
        &self.events
    }

    /// The events of the last call (also returned by it).
    #[must_use]
    pub fn events(&self) -> &[StopEvent] {
        &self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stops::plan::TakeProfit;
    use AdjustReason::{BreakEven, Chandelier, TrailingPercent};

    const SYM: &str = "BTCUSDT";

    fn long(id: u64, entry: i64, stop: i64, qty: i64) -> NewPosition<'static> {
        NewPosition { id, symbol: SYM, side: PositionSide::Long, entry, stop, qty, opened_at: 0 }
    }

    fn short(id: u64, entry: i64, stop: i64, qty: i64) -> NewPosition<'static> {
        NewPosition { side: PositionSide::Short, ..long(id, entry, stop, qty) }
    }

    fn adj(id: u64, old: i64, new: i64, reason: AdjustReason, ts: i64) -> StopEvent {
        StopEvent::SlAdjusted { position_id: id, old_stop: old, new_stop: new, reason, ts }
    }

    fn closed(id: u64, reason: CloseReason, price: i64, qty: i64, ts: i64) -> StopEvent {
        StopEvent::TradeClosed { position_id: id, reason, price, qty, ts }
    }

    fn run(t: &mut StopTracker, path: &[(i64, i64)]) -> Vec<StopEvent> {
        let mut all = Vec::new();
        for &(ts, price) in path {
            all.extend_from_slice(t.on_price(SYM, price, ts, None));
        }
        all
    }

    #[test]
    fn trailing_percent_follows_the_peak_and_never_loosens() {
        // Long at 100.00 (10_000 ticks), stop 90.00, trail 5%.
        let mut t = StopTracker::default();
        let plan = StopPlan { trail_ppm: 50_000, ..StopPlan::default() };
        t.add(&long(1, 10_000, 9_000, 100), &plan).unwrap();
        let ev = run(&mut t, &[(1, 10_000), (2, 10_400), (3, 10_200), (4, 10_610), (5, 10_100), (6, 10_080)]);
        assert_eq!(
            ev,
            vec![
                // peak 10_000: 10_000 - 5% (500) = 9_500
                adj(1, 9_000, 9_500, TrailingPercent, 1),
                // peak 10_400: 10_400 - 520 = 9_880
                adj(1, 9_500, 9_880, TrailingPercent, 2),
                // 10_200: below the peak, the stop stays at 9_880
                // peak 10_610: 5% = 530.5 → 530 (distance rounds down) → 10_080
                adj(1, 9_880, 10_080, TrailingPercent, 4),
                // 10_100 > 10_080: nothing; 10_080 touches the stop
                closed(1, CloseReason::TrailingStop, 10_080, 100, 6),
            ]
        );
        assert!(t.is_empty());
    }

    #[test]
    fn chandelier_stop_is_peak_minus_k_atr() {
        // Long at 10_000, stop 9_000, k = 3, ATR given with the ticks.
        let mut t = StopTracker::default();
        let plan = StopPlan { chandelier_k_milli: 3_000, ..StopPlan::default() };
        t.add(&long(7, 10_000, 9_000, 10), &plan).unwrap();
        let mut ev = Vec::new();
        for (ts, price, atr) in [
            (1, 10_000, Some(100.0)),
            (2, 10_200, None),
            (3, 10_200, Some(50.0)),
            (4, 10_300, Some(200.0)),
            (5, 10_050, None),
        ] {
            ev.extend_from_slice(t.on_price(SYM, price, ts, atr));
        }
        assert_eq!(
            ev,
            vec![
                adj(7, 9_000, 9_700, Chandelier, 1),  // 10_000 - 3×100
                adj(7, 9_700, 9_900, Chandelier, 2),  // 10_200 - 3×100 (ATR kept)
                adj(7, 9_900, 10_050, Chandelier, 3), // 10_200 - 3×50
                // 10_300 - 3×200 = 9_700 < 10_050: the stop does not loosen
                closed(7, CloseReason::TrailingStop, 10_050, 10, 5),
            ]
        );
    }

    #[test]
    fn break_even_after_one_r() {
        // Entry 10_000, stop 9_800: R = 200. Break-even once 10_200 is seen.
        let mut t = StopTracker::default();
        let plan = StopPlan { breakeven_after_r_milli: 1_000, ..StopPlan::default() };
        t.add(&long(1, 10_000, 9_800, 5), &plan).unwrap();
        let ev = run(&mut t, &[(1, 10_100), (2, 10_199), (3, 10_200), (4, 10_050), (5, 10_000)]);
        assert_eq!(ev, vec![adj(1, 9_800, 10_000, BreakEven, 3), closed(1, CloseReason::BreakEvenStop, 10_000, 5, 5)]);
        // With a 5-tick offset the break-even stop is 10_005.
        let plan = StopPlan { breakeven_after_r_milli: 1_000, breakeven_offset_ticks: 5, ..StopPlan::default() };
        t.add(&long(2, 10_000, 9_800, 5), &plan).unwrap();
        assert_eq!(t.on_price(SYM, 10_200, 9, None), &[adj(2, 9_800, 10_005, BreakEven, 9)]);
    }

    #[test]
    fn partial_exits_at_one_and_two_r_then_the_rest_trails() {
        // Entry 10_000, stop 9_800 (R = 200), 1000 steps. 50% at 1R, 25% at
        // 2R, break-even at 1R, the rest trails 2% from 2R on.
        let plan = StopPlan {
            take_profits: vec![
                TakeProfit { r_milli: 1_000, fraction_ppm: 500_000 },
                TakeProfit { r_milli: 2_000, fraction_ppm: 250_000 },
            ],
            breakeven_after_r_milli: 1_000,
            trail_ppm: 20_000,
            trail_after_r_milli: 2_000,
            ..StopPlan::default()
        };
        let mut t = StopTracker::default();
        t.add(&long(3, 10_000, 9_800, 1_000), &plan).unwrap();
        let ev = run(&mut t, &[(1, 10_200), (2, 10_450), (3, 10_600), (4, 10_380)]);
        let pe = |level, fraction_ppm, qty, price, ts| StopEvent::PartialExit {
            position_id: 3,
            level,
            fraction_ppm,
            qty,
            price,
            ts,
        };
        assert_eq!(
            ev,
            vec![
                pe(0, 500_000, 500, 10_200, 1), // 1R = 10_200: half of 1000
                adj(3, 9_800, 10_000, BreakEven, 1),
                pe(1, 250_000, 250, 10_450, 2), // 2R = 10_400 crossed by a tick at 10_450
                // trail: 10_450 - floor(2% = 209) = 10_241
                adj(3, 10_000, 10_241, TrailingPercent, 2),
                adj(3, 10_241, 10_388, TrailingPercent, 3), // 10_600 - 212
                closed(3, CloseReason::TrailingStop, 10_380, 250, 4), // 500 + 250 + 250 = 1000
            ]
        );
    }

    #[test]
    fn a_manual_reduction_keeps_the_stop_and_scales_the_take_profits_still_to_come() {
        // 1000 steps at 10_000, stop 9_800 (R = 200); 50% at 1R, 25% at 2R;
        // break-even at 1R.
        let plan = StopPlan {
            take_profits: vec![
                TakeProfit { r_milli: 1_000, fraction_ppm: 500_000 },
                TakeProfit { r_milli: 2_000, fraction_ppm: 250_000 },
            ],
            breakeven_after_r_milli: 1_000,
            ..StopPlan::default()
        };
        let mut t = StopTracker::default();
        t.add(&long(4, 10_000, 9_800, 1_000), &plan).unwrap();
        // 1R: 500 sold, the stop at break-even (10_000).
        assert_eq!(run(&mut t, &[(1, 10_200)]).len(), 2);
        // 200 of the 500 left are sold by hand: 300 left, the initial 1000
        // scaled by 300/500 to 600, so 2R takes 25% of 600 = 150 (half of
        // what is left, as it would have taken 250 of 500).
        let v = t.reduce(4, 200).unwrap();
        assert_eq!((v.qty, v.initial_qty, v.stop), (300, 600, 10_000));
        let ev = run(&mut t, &[(2, 10_400), (3, 10_000)]);
        assert_eq!(
            ev,
            vec![
                StopEvent::PartialExit {
                    position_id: 4,
                    level: 1,
                    fraction_ppm: 250_000,
                    qty: 150,
                    price: 10_400,
                    ts: 2
                },
                closed(4, CloseReason::BreakEvenStop, 10_000, 150, 3),
            ]
        );
        // Nothing, everything, or an unknown id: refused.
        t.add(&long(5, 10_000, 9_800, 10), &plan).unwrap();
        assert!(t.reduce(5, 0).is_err());
        assert!(t.reduce(5, 10).is_err());
        assert!(t.reduce(99, 1).is_err());
        assert_eq!(t.get(5).unwrap().qty, 10);
    }

    #[test]
    fn last_take_profit_closes_what_is_left() {
        // 60% at 1R, 40% at 2R of 5 steps: floor(3.0) = 3, then the 2 left
        // close the trade at 2R (reason TakeProfit).
        let plan = StopPlan {
            take_profits: vec![
                TakeProfit { r_milli: 1_000, fraction_ppm: 600_000 },
                TakeProfit { r_milli: 2_000, fraction_ppm: 400_000 },
            ],
            ..StopPlan::default()
        };
        let mut t = StopTracker::default();
        t.add(&long(1, 1_000, 900, 5), &plan).unwrap();
        // A gap from below 1R to above 2R sells both levels at that price.
        let ev = run(&mut t, &[(1, 1_250)]);
        assert_eq!(
            ev,
            vec![
                StopEvent::PartialExit { position_id: 1, level: 0, fraction_ppm: 600_000, qty: 3, price: 1_250, ts: 1 },
                closed(1, CloseReason::TakeProfit, 1_250, 2, 1),
            ]
        );
    }

    #[test]
    fn a_position_opened_inside_a_candle_meets_only_the_path_after_its_fill() {
        // A bullish candle 100.00 → 95.00 → 110.00 → 108.00 (direction rule:
        // points at +0, +19_999, +39_999, +59_999). A long filled at the high
        // (+39_999) with its stop at 99.00 never saw the 95.00 low, which came
        // before; filled at the open, it would have been stopped there.
        let bar =
            Bar { open_time: 0, close_time: 59_999, open: 10_000, high: 11_000, low: 9_500, close: 10_800, volume: 0 };
        let plan = StopPlan::default();
        let mut t = StopTracker::default();
        t.add(&NewPosition { opened_at: 39_999, ..long(1, 11_000, 9_900, 3) }, &plan).unwrap();
        assert!(t.on_candle(SYM, &bar, None).is_empty());
        let mut t = StopTracker::default();
        t.add(&long(1, 10_000, 9_900, 3), &plan).unwrap();
        assert_eq!(t.on_candle(SYM, &bar, None), &[closed(1, CloseReason::StopLoss, 9_900, 3, 19_999)]);
    }

    #[test]
    fn time_stop_in_ms_and_in_bars() {
        let mut t = StopTracker::default();
        let plan = StopPlan { time_stop_ms: 60_000, ..StopPlan::default() };
        t.add(&NewPosition { opened_at: 1_000, ..long(1, 10_000, 9_000, 3) }, &plan).unwrap();
        // Opened at 1_000 + 60_000 → closes at the first price at 61_000.
        assert!(t.on_price(SYM, 10_010, 60_999, None).is_empty());
        assert_eq!(t.on_price(SYM, 10_020, 61_000, None), &[closed(1, CloseReason::TimeStop, 10_020, 3, 61_000)]);

        let plan = StopPlan { time_stop_bars: 2, ..StopPlan::default() };
        t.add(&long(2, 10_000, 9_000, 3), &plan).unwrap();
        let bar = |open_time, c| Bar {
            open_time,
            close_time: open_time + 59_999,
            open: 10_000,
            high: 10_100,
            low: 9_950,
            close: c,
            volume: 0,
        };
        assert!(t.on_candle(SYM, &bar(0, 10_050), None).is_empty());
        // Closes at the close of the second candle.
        assert_eq!(
            t.on_candle(SYM, &bar(60_000, 10_070), None),
            &[closed(2, CloseReason::TimeStop, 10_070, 3, 119_999)]
        );
    }

    #[test]
    fn short_positions_are_mirrored() {
        // Short at 10_000, stop 11_000, trail 5% above the trough.
        let mut t = StopTracker::default();
        let plan = StopPlan { trail_ppm: 50_000, ..StopPlan::default() };
        t.add(&short(4, 10_000, 11_000, 8), &plan).unwrap();
        let ev = run(&mut t, &[(1, 10_000), (2, 9_600), (3, 9_800), (4, 9_390), (5, 9_859)]);
        assert_eq!(
            ev,
            vec![
                adj(4, 11_000, 10_500, TrailingPercent, 1), // 10_000 + 500
                adj(4, 10_500, 10_080, TrailingPercent, 2), // 9_600 + 480
                // 9_390 + floor(469.5) = 9_859 (rounded toward the price)
                adj(4, 10_080, 9_859, TrailingPercent, 4),
                closed(4, CloseReason::TrailingStop, 9_859, 8, 5),
            ]
        );
        // A short's stop below its entry is refused.
        assert!(t.add(&short(5, 10_000, 9_000, 1), &plan).is_err());
    }

    #[test]
    fn short_break_even_and_take_profit() {
        // Short at 10_000, stop 10_200 (R = 200): TP 50% at 1R = 9_800, BE at 1R.
        let plan = StopPlan {
            take_profits: vec![TakeProfit { r_milli: 1_000, fraction_ppm: 500_000 }],
            breakeven_after_r_milli: 1_000,
            ..StopPlan::default()
        };
        let mut t = StopTracker::default();
        t.add(&short(1, 10_000, 10_200, 10), &plan).unwrap();
        let ev = run(&mut t, &[(1, 9_800), (2, 10_000)]);
        assert_eq!(
            ev,
            vec![
                StopEvent::PartialExit { position_id: 1, level: 0, fraction_ppm: 500_000, qty: 5, price: 9_800, ts: 1 },
                adj(1, 10_200, 10_000, BreakEven, 1),
                closed(1, CloseReason::BreakEvenStop, 10_000, 5, 2),
            ]
        );
    }

    #[test]
    fn candles_exit_at_the_level_crossed_or_at_a_gapped_open() {
        let bar = |o, h, l, c| Bar { open_time: 0, close_time: 59_999, open: o, high: h, low: l, close: c, volume: 0 };
        let mut t = StopTracker::default();
        t.add(&long(1, 10_000, 9_900, 2), &StopPlan::default()).unwrap();
        // Bullish: 10_000 → 9_850 (through the stop) → 10_100 → 10_050:
        // out at the stop itself, at the low's time (59_999 / 3).
        assert_eq!(
            t.on_candle(SYM, &bar(10_000, 10_100, 9_850, 10_050), None),
            &[closed(1, CloseReason::StopLoss, 9_900, 2, 19_999)]
        );
        // A candle opening below the stop exits at its open.
        t.add(&long(2, 10_000, 9_900, 2), &StopPlan::default()).unwrap();
        assert_eq!(
            t.on_candle(SYM, &bar(9_800, 9_850, 9_700, 9_820), None),
            &[closed(2, CloseReason::StopLoss, 9_800, 2, 0)]
        );
        // A take-profit crossed inside the candle sells at its level.
        let plan = StopPlan {
            take_profits: vec![TakeProfit { r_milli: 2_000, fraction_ppm: 1_000_000 }],
            ..StopPlan::default()
        };
        t.add(&long(3, 10_000, 9_900, 2), &plan).unwrap();
        // 10_000 → 9_950 → 10_300 (through 2R = 10_200) → 10_250.
        assert_eq!(
            t.on_candle(SYM, &bar(10_000, 10_300, 9_950, 10_250), None),
            &[closed(3, CloseReason::TakeProfit, 10_200, 2, 39_999)]
        );
    }

    #[test]
    fn swap_remove_keeps_the_index_right() {
        let mut t = StopTracker::default();
        let p = StopPlan::default();
        t.add(&long(1, 10_000, 9_000, 1), &p).unwrap();
        t.add(&long(2, 10_000, 9_500, 1), &p).unwrap();
        t.add(&long(3, 10_000, 8_000, 1), &p).unwrap();
        t.add(&NewPosition { symbol: "ETHUSDT", ..long(4, 3_000, 2_900, 1) }, &p).unwrap();
        assert!(t.add(&long(4, 10_000, 9_000, 1), &p).is_err());
        // 9_400 closes #2 (stop 9_500) only; #3 moves into its slot.
        assert_eq!(t.on_price(SYM, 9_400, 1, None), &[closed(2, CloseReason::StopLoss, 9_400, 1, 1)]);
        assert_eq!((t.len(), t.contains(2)), (3, false));
        assert_eq!(t.get(3).unwrap().stop, 8_000);
        assert_eq!(t.get(1).unwrap().stop, 9_000);
        assert_eq!(t.remove(3).unwrap().id, 3);
        assert_eq!(t.get(1).unwrap().stop, 9_000);
        assert_eq!(t.on_price(SYM, 8_500, 2, None), &[closed(1, CloseReason::StopLoss, 8_500, 1, 2)]);
        assert_eq!(t.get(4).unwrap().symbol, "ETHUSDT");
    }

    #[test]
    fn manual_moves_only_tighten_and_manual_close() {
        let mut t = StopTracker::default();
        t.add(&long(1, 10_000, 9_000, 4), &StopPlan::default()).unwrap();
        assert!(t.set_stop(1, 8_900, 0).is_err());
        assert!(t.set_stop(1, 9_000, 0).is_err());
        assert_eq!(t.set_stop(1, 9_600, 5).unwrap(), &[adj(1, 9_000, 9_600, AdjustReason::Manual, 5)]);
        assert_eq!(t.close(1, 9_900, 6).unwrap(), &[closed(1, CloseReason::Manual, 9_900, 4, 6)]);
        assert!(t.close(1, 9_900, 6).is_err());
    }

    #[test]
    fn batch_of_prices_equals_one_by_one() {
        let plan = StopPlan { trail_ppm: 10_000, ..StopPlan::default() };
        let prices = [10_000, 10_100, 10_300, 10_150, 10_190, 10_400, 10_290];
        let ts: Vec<i64> = (0..7).collect();
        let mut a = StopTracker::default();
        a.add(&long(1, 10_000, 9_000, 1), &plan).unwrap();
        let batch = a.on_prices(SYM, &prices, &ts).unwrap().to_vec();
        let mut b = StopTracker::default();
        b.add(&long(1, 10_000, 9_000, 1), &plan).unwrap();
        let one: Vec<(i64, i64)> = ts.iter().copied().zip(prices).collect();
        assert_eq!(batch, run(&mut b, &one));
        assert!(a.on_prices(SYM, &prices, &ts[..3]).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::stops::plan::TakeProfit;

    fn plan_strategy() -> impl Strategy<Value = StopPlan> {
        (
            0u32..200_000,
            0u32..3_000,
            prop_oneof![Just(0u32), 500u32..5_000],
            prop_oneof![Just(0u32), 1u32..3_000],
            prop::collection::btree_set(1u32..4_000, 0..3),
            prop_oneof![Just(0i64), 1i64..500],
        )
            .prop_map(|(trail_ppm, trail_after, k, be, levels, time_ms)| StopPlan {
                trail_ppm,
                trail_after_r_milli: trail_after,
                chandelier_k_milli: k,
                breakeven_after_r_milli: be,
                take_profits: levels.into_iter().map(|r| TakeProfit { r_milli: r, fraction_ppm: 300_000 }).collect(),
                time_stop_ms: time_ms,
                ..StopPlan::default()
            })
    }

    proptest! {
        #[test]
        fn stop_never_loosens_and_quantity_is_conserved(
            plan in plan_strategy(),
            short in any::<bool>(),
            entry in 5_000i64..20_000,
            risk in 1i64..2_000,
            qty in 1i64..10_000,
            moves in prop::collection::vec((-300i64..300, prop::option::of(1.0f64..500.0)), 1..80),
        ) {
            let dir = if short { -1 } else { 1 };
            let side = if short { PositionSide::Short } else { PositionSide::Long };
            let mut t = StopTracker::default();
            let new = NewPosition { id: 1, symbol: "X", side, entry, stop: entry - dir * risk, qty, opened_at: 0 };
            t.add(&new, &plan).unwrap();
            let (mut stop, mut out, mut price) = (entry - dir * risk, 0i64, entry);
            for (ts, (mv, atr)) in moves.into_iter().enumerate() {
                price = (price + mv).max(1);
                for e in t.on_price("X", price, ts as i64 + 1, atr) {
                    match *e {
                        StopEvent::SlAdjusted { old_stop, new_stop, .. } => {
                            prop_assert!((new_stop - old_stop) * dir > 0);
                            prop_assert_eq!(old_stop, stop);
                            stop = new_stop;
                        }
                        StopEvent::PartialExit { qty: q, .. } => { prop_assert!(q > 0); out += q; }
                        StopEvent::TradeClosed { qty: q, .. } => { prop_assert!(q >= 0); out += q; }
                    }
                }
                match t.get(1) {
                    None => { prop_assert_eq!(out, qty); return Ok(()); }
                    Some(v) => {
                        prop_assert_eq!(v.stop, stop);
                        prop_assert!(v.qty > 0 && v.qty + out == qty);
                    }
                }
            }
        }
    }
}
