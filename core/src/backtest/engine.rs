//! The event-driven strategy backtester: the live decision code on history.
//!
//! Candles of many symbols are merged by open time into one timeline; each
//! step processes, for every symbol with a candle at that time and in the
//! order the series were given:
//!
//! 1. the [`MarketEngine`] (the live scorer and signal evaluator, one stream
//!    per symbol) gets the closed candle: new features, ATR, maybe a signal;
//! 2. a pending order is offered the candle through the fill model
//!    ([`FillModel::on_bar`]): latency counts from the signal candle's close,
//!    so with a latency below one candle a market order fills at the next
//!    open (the signal candle itself is never traded: in live trading the
//!    signal exists only once it has closed); fees and slippage are the fill
//!    model's;
//! 3. an open position's stops run through the live [`StopTracker`] along the
//!    candle's path: on the lower-timeframe candles inside it when such a
//!    series is given, otherwise along the configured
//!    [`IntrabarRule`](super::config::IntrabarRule) (worst case by default:
//!    the adverse extreme first, so a stop and a target inside one candle
//!    resolve to the stop). A position filled inside a candle (a long
//!    latency) meets only the part of its path after the fill, as the live
//!    stop monitor's tracker does; the time stop counts the candles held
//!    from their open. Stop and time exits are taker fills with slippage;
//!    take-profit exits are resting limits, maker fills at the level;
//! 4. a signal opens a position sized by [`size_position`] from `risk_pct`
//!    of the equity over the stop distance (ATR multiple or percent, known
//!    at the signal), capped by `max_position_pct` and by the cash not
//!    already committed (as the paper account's free quote asset); the order must pass the symbol's filters (minimum
//!    notional, lot size). A signal of the other side closes a position at
//!    market (`exit_on_opposite`); SELL signals open shorts only with
//!    `allow_short`.
//!
//! After the step, the equity (cash, every open position and every dust
//! balance marked at its symbol's latest close) is recorded. A BUY pays its
//! commission in the base asset, as on Binance: the position holds the
//! bought quantity less the commission, rounded down to the lot step; the
//! commission (valued at the fill price) is the entry's fee, and what is
//! left below the step stays on the account as dust (bought, not lost:
//! marked at market in the equity, never sold). Every other fee is in the
//! quote asset. This is how the live trade engine books a fill, so a
//! backtest and paper trading of the same candles agree trade for trade
//! (`tests/backtest/test_parity_with_live.py`). Positions still open at the
//! end close at the last close as taker.
//!
//! Candles before `start` only warm the engine up (no trading, no equity);
//! candles at or after `end` are ignored.
use std::sync::atomic::{AtomicU64, Ordering};

use super::config::BacktestConfig;
use super::result::{BacktestResult, BacktestTrade, ExitReason, RunCounters};
use crate::candles::Interval;
use crate::engine::{KlineColumns, MarketEngine, StreamId};
use crate::error::{CoreError, CoreResult};
use crate::fills::decimal::Dec;
use crate::fills::{Bar, Commission, FeeAsset, FillModel, Liquidity, Order, OrderKind, SimOrder, SymbolFilters};
use crate::risk::{size_position, SizingRequest};
use crate::signals::Side;
use crate::stops::{NewPosition, PositionSide, StopEvent, StopPlan, StopTracker};

/// One symbol's candles, and optionally a finer series of the same symbol
/// used to resolve exits inside a candle.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub symbol: &'a str,
    pub interval: Interval,
    pub cols: KlineColumns<'a>,
    pub lower: Option<LowerSeries<'a>>,
    /// External signals at each candle's close (+1 BUY, -1 SELL, 0 none)
    /// replacing the engine's (which still runs, for the ATR): research
    /// signals, hand-made test cases, and the hook of the parity test with
    /// the live pipeline (replaying the signals paper trading recorded).
    pub signals: Option<&'a [i8]>,
}

/// A lower-timeframe series (OHLC only).
#[derive(Debug, Clone, Copy)]
pub struct LowerSeries<'a> {
    pub interval: Interval,
    pub open_time: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
}

/// The time window traded: `[start, end)` by candle open time (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// Checks the series: lengths, sane candles, strictly rising times, one
/// interval, valid lower-timeframe series.
///
/// # Errors
/// `InvalidInput` naming the symbol and the problem.
pub fn validate_series(data: &[Series<'_>]) -> CoreResult<()> {
    let Some(first) = data.first() else {
        return Err(CoreError::InvalidInput("no candle series given".into()));
    };
    for (k, s) in data.iter().enumerate() {
        let bad = |m: String| CoreError::InvalidInput(format!("{}: {m}", s.symbol));
        if data[..k].iter().any(|o| o.symbol == s.symbol) {
            return Err(bad("given twice".into()));
        }
        if s.interval != first.interval {
            return Err(bad(format!(
                "interval {} differs from {} of {} (one strategy interval per run)",
                s.interval, first.interval, first.symbol
            )));
        }
        s.cols.validate().map_err(|e| bad(e.to_string()))?;
        if s.signals.is_some_and(|x| x.len() != s.cols.len()) {
            return Err(bad(format!("signals has a different length than the {} candles", s.cols.len())));
        }
        if let Some(i) = s.cols.open_time.windows(2).position(|w| w[1] <= w[0]) {
            return Err(bad(format!("open times are not strictly rising at row {}", i + 1)));
        }
        if let Some(l) = &s.lower {
            let n = l.open_time.len();
            if [l.open.len(), l.high.len(), l.low.len(), l.close.len()].iter().any(|&m| m != n) {
                return Err(bad("lower-timeframe columns have different lengths".into()));
            }
            let (lm, m) = (l.interval.millis(), s.interval.millis());
            if lm >= m || m % lm != 0 {
                return Err(bad(format!("lower timeframe {} does not divide {}", l.interval, s.interval)));
            }
            if let Some(i) = l.open_time.windows(2).position(|w| w[1] <= w[0]) {
                return Err(bad(format!("lower-timeframe open times are not strictly rising at row {}", i + 1)));
            }
            for i in 0..n {
                let (o, h, lo, c) = (l.open[i], l.high[i], l.low[i], l.close[i]);
                if !(lo > 0.0 && lo.is_finite() && h.is_finite() && lo <= o.min(c) && h >= o.max(c)) {
                    return Err(bad(format!("lower-timeframe candle {i} is not a valid candle")));
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Intent {
    Entry { dist: i64 },
    Exit,
}

#[derive(Debug, Clone)]
struct Pending {
    sim: SimOrder,
    intent: Intent,
    signal_time: i64,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    id: u64,
    dir: i8,
    entry_ticks: i64,
    qty0: i64,
    qty: i64,
    entry_time: i64,
    signal_time: i64,
    entry_bar: usize,
    stop_ticks: i64,
    fees: f64,
    gross: f64,
    /// Σ exit ticks × steps (exact), for the average exit price.
    exit_atoms: i128,
    exited: i64,
    partials: u8,
}

struct Sym<'a> {
    s: &'a Series<'a>,
    stream: StreamId,
    filters: SymbolFilters,
    tick: f64,
    /// 1 / tick when that is a whole number, else 0.
    ticks_per_unit: f64,
    step: f64,
    next: usize,
    lower_next: usize,
    pending: Option<Pending>,
    pos: Option<Open>,
    last_close: f64,
    last_close_ticks: i64,
    /// Base asset left below the lot step by base commissions (dust).
    dust: f64,
}

impl Sym<'_> {
    #[inline]
    fn ticks(&self, price: f64) -> i64 {
        (price / self.tick).round() as i64
    }

    #[inline]
    fn bar(&self, i: usize) -> Bar {
        let c = &self.s.cols;
        let t = c.open_time[i];
        Bar {
            open_time: t,
            close_time: self.s.interval.close_time(t),
            open: self.ticks(c.open[i]),
            high: self.ticks(c.high[i]),
            low: self.ticks(c.low[i]),
            close: self.ticks(c.close[i]),
            volume: (c.volume[i] / self.step) as i64,
        }
    }

    fn lower_bar(&self, l: &LowerSeries<'_>, j: usize) -> Bar {
        let t = l.open_time[j];
        Bar {
            open_time: t,
            close_time: l.interval.close_time(t),
            open: self.ticks(l.open[j]),
            high: self.ticks(l.high[j]),
            low: self.ticks(l.low[j]),
            close: self.ticks(l.close[j]),
            volume: 0,
        }
    }

    fn price(&self, ticks: i64) -> f64 {
        self.price_f(ticks as f64)
    }

    /// A price in (fractional) ticks as a number: divided by the ticks per
    /// unit when the tick is a power of ten (so 11100 ticks of 0.01 print
    /// as 111.0, not 111.00000000000001).
    fn price_f(&self, ticks: f64) -> f64 {
        if self.ticks_per_unit > 0.0 {
            ticks / self.ticks_per_unit
        } else {
            ticks * self.tick
        }
    }

    fn unrealized(&self) -> f64 {
        self.pos.map_or(0.0, |p| {
            f64::from(p.dir) * (self.last_close - self.price(p.entry_ticks)) * p.qty as f64 * self.step
        })
    }

    /// The dust balance marked at the latest close.
    fn dust_value(&self) -> f64 {
        self.dust * self.last_close
    }

    fn notional(&self) -> f64 {
        self.pos.map_or(0.0, |p| self.price(p.entry_ticks) * p.qty as f64 * self.step)
    }
}

fn fee_quote(c: Commission, price: f64) -> f64 {
    let v = c.amount as f64 / 10f64.powi(c.precision as i32);
    match c.asset {
        FeeAsset::Base => v * price,
        FeeAsset::Quote => v,
    }
}

/// The steps a BUY of `qty` steps leaves in the account once a base-asset
/// commission is taken, rounded down to the step (a quote-asset commission
/// leaves them all).
fn held_steps(filters: &SymbolFilters, qty: i64, commission: Commission) -> i64 {
    if commission.asset != FeeAsset::Base || commission.amount == 0 {
        return qty;
    }
    let (bought, fee) = (filters.qty(qty), commission.to_dec());
    let scale = bought.scale.max(fee.scale);
    let at = |d: Dec| d.units_at(scale).unwrap_or(i128::MAX);
    let step = at(filters.qty(1));
    i64::try_from((at(bought) - at(fee)).div_euclid(step)).unwrap_or(0).max(0)
}

/// A percent stop distance in ticks, exactly: `ceil(entry × pct / 100)`
/// with the percent in millionths of the price (`ppm` = pct × 10 000), so
/// that it equals the live trade engine's decimal arithmetic.
fn pct_distance(entry: i64, ppm: i64) -> i64 {
    let n = i128::from(entry) * i128::from(ppm);
    i64::try_from((n + 999_999).div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

fn dec_of(v: f64) -> Dec {
    Dec::new((v * 1e8).round() as i128, 8)
}

/// The run's mutable state besides the symbols.
struct Book {
    cash: f64,
    next_id: u64,
    trades: Vec<BacktestTrade>,
    counters: RunCounters,
    events: Vec<StopEvent>,
}

impl Book {
    /// An exit fill of `q` steps at `ticks`: the cash moves, the trade
    /// accumulates.
    fn exit_fill(&mut self, sym: &mut Sym<'_>, model: &FillModel, ticks: i64, q: i64, liq: Liquidity) {
        let Some(p) = sym.pos.as_mut() else { return };
        let side = if p.dir > 0 { Side::Sell } else { Side::Buy };
        let cfg = model.config();
        let ticks = if liq == Liquidity::Taker { cfg.slippage.apply(side, ticks, q, 0) } else { ticks };
        let price = ticks as f64 * sym.tick;
        let fee = fee_quote(cfg.fees.commission(&sym.filters, side, ticks, q, liq), price);
        let gross = f64::from(p.dir) * (ticks - p.entry_ticks) as f64 * sym.tick * q as f64 * sym.step;
        self.cash += gross - fee;
        p.fees += fee;
        p.gross += gross;
        p.exit_atoms += i128::from(ticks) * i128::from(q);
        p.exited += q;
        p.qty -= q;
    }

    fn finish(&mut self, sym: &mut Sym<'_>, sym_index: usize, exit_time: i64, exit_bar: usize, reason: ExitReason) {
        let Some(p) = sym.pos.take() else { return };
        let entry = sym.price(p.entry_ticks);
        let qty = p.qty0 as f64 * sym.step;
        let pnl = p.gross - p.fees;
        self.trades.push(BacktestTrade {
            symbol: sym_index,
            side: p.dir,
            signal_time: p.signal_time,
            entry_time: p.entry_time,
            exit_time,
            entry_bar: p.entry_bar,
            exit_bar,
            entry_price: entry,
            exit_price: if p.exited > 0 { sym.price_f(p.exit_atoms as f64 / p.exited as f64) } else { entry },
            qty,
            pnl,
            return_pct: pnl / (entry * qty),
            fees: p.fees,
            stop: sym.price(p.stop_ticks),
            partials: p.partials,
            reason,
        });
    }

    /// Applies the stop tracker's events to the symbol's position.
    fn on_events(&mut self, sym: &mut Sym<'_>, sym_index: usize, model: &FillModel, bar_index: usize) {
        for i in 0..self.events.len() {
            match self.events[i] {
                StopEvent::SlAdjusted { .. } => self.counters.stop_moves += 1,
                StopEvent::PartialExit { qty, price, .. } => {
                    self.exit_fill(sym, model, price, qty, Liquidity::Maker);
                    if let Some(p) = sym.pos.as_mut() {
                        p.partials = p.partials.saturating_add(1);
                    }
                }
                StopEvent::TradeClosed { reason, price, qty, ts, .. } => {
                    let r = ExitReason::from_close(reason);
                    let liq = if r == ExitReason::TakeProfit { Liquidity::Maker } else { Liquidity::Taker };
                    self.exit_fill(sym, model, price, qty, liq);
                    self.finish(sym, sym_index, ts, bar_index, r);
                }
            }
        }
    }
}

/// Runs a strategy backtest. `progress`, if given, is set to the number of
/// candles processed so far (every few thousand), for a progress bar polled
/// from another thread.
///
/// # Errors
/// `Config` for a configuration that does not validate, `InvalidInput` for
/// unusable series (see [`validate_series`]).
pub fn run_backtest(
    cfg: &BacktestConfig,
    data: &[Series<'_>],
    window: Window,
    progress: Option<&AtomicU64>,
) -> CoreResult<BacktestResult> {
    cfg.validate()?;
    validate_series(data)?;
    run_validated(cfg, data, window, progress)
}

/// [`run_backtest`] without the checks (the sweeps check once).
pub(crate) fn run_validated(
    cfg: &BacktestConfig,
    data: &[Series<'_>],
    window: Window,
    progress: Option<&AtomicU64>,
) -> CoreResult<BacktestResult> {
    let interval = data[0].interval;
    let iv = interval.millis();
    let mut engine = MarketEngine::new(cfg.engine.clone())?;
    let model = FillModel::new_checked(cfg.fill_config()?)?;
    let (long_path, short_path) = cfg.intrabar.paths();
    let mut long_tr = StopTracker::new(long_path);
    let mut short_tr = StopTracker::new(short_path);
    let plan_main = cfg.plan(1)?;
    let mut plan_lower: Vec<StopPlan> = Vec::with_capacity(data.len());
    let mut syms = Vec::with_capacity(data.len());
    for s in data {
        let filters = cfg.filters_for(s.symbol).map_err(|e| CoreError::Config(format!("filters.{}: {e}", s.symbol)))?;
        let ratio = s.lower.map_or(1, |l| (iv / l.interval.millis()) as u32);
        plan_lower.push(cfg.plan(ratio)?);
        syms.push(Sym {
            s,
            stream: engine.track(s.symbol, interval)?,
            filters,
            tick: filters.price(1).to_string().parse().unwrap_or(f64::NAN),
            ticks_per_unit: {
                let p = filters.price(1).normalized();
                if p.units == 1 {
                    10f64.powi(p.scale as i32)
                } else {
                    0.0
                }
            },
            step: filters.qty(1).to_string().parse().unwrap_or(f64::NAN),
            next: 0,
            lower_next: 0,
            pending: None,
            pos: None,
            last_close: 0.0,
            last_close_ticks: 0,
            dust: 0.0,
        });
    }
    let start = window.start.unwrap_or(i64::MIN);
    let end = window.end.unwrap_or(i64::MAX);
    let cap = data.iter().map(|s| s.cols.len()).max().unwrap_or(0);
    let mut times = Vec::with_capacity(cap);
    let mut equity = Vec::with_capacity(cap);
    let mut bars_in_market = 0usize;
    let mut book = Book {
        cash: cfg.init_cash,
        next_id: 1,
        trades: Vec::new(),
        counters: RunCounters::default(),
        events: Vec::with_capacity(16),
    };
    let stop_pct_ppm = (cfg.stops.stop_pct * 10_000.0).round() as i64;
    let mut open_count = 0usize;
    let max_pos = if cfg.max_positions == 0 { usize::MAX } else { cfg.max_positions };
    let mut processed: u64 = 0;
    loop {
        // The next open time over every symbol.
        let mut t = i64::MAX;
        for s in &syms {
            if let Some(&ot) = s.s.cols.open_time.get(s.next) {
                if ot < t {
                    t = ot;
                }
            }
        }
        if t == i64::MAX || t >= end {
            break;
        }
        let trading = t >= start;
        let k = times.len();
        for si in 0..syms.len() {
            // The quote asset spent on open positions (a pending entry must fit
            // in what is left).
            let committed: f64 = if syms[si].pending.as_ref().is_some_and(|p| matches!(p.intent, Intent::Entry { .. }))
            {
                syms.iter().map(Sym::notional).sum()
            } else {
                0.0
            };
            let sym = &mut syms[si];
            let i = sym.next;
            if sym.s.cols.open_time.get(i) != Some(&t) {
                continue;
            }
            sym.next += 1;
            processed += 1;
            if processed.trailing_zeros() >= 12 {
                if let Some(p) = progress {
                    p.store(processed, Ordering::Relaxed);
                }
            }
            let candle = sym.s.cols.candle(i);
            let step = engine.on_kline(sym.stream, &candle, true, true)?;
            sym.last_close = candle.close;
            if !trading {
                continue;
            }
            let signal = match sym.s.signals {
                Some(x) => match x[i] {
                    1 => Some(Side::Buy),
                    -1 => Some(Side::Sell),
                    _ => None,
                },
                None => step.signal.as_ref().map(|s| s.side),
            };
            let busy = sym.pending.is_some() || sym.pos.is_some();
            if busy || signal.is_some() {
                let bar = sym.bar(i);
                sym.last_close_ticks = bar.close;
                let atr_ticks = engine
                    .stream(sym.stream)?
                    .last_features()
                    .map(|f| f.atr / sym.tick)
                    .filter(|a| a.is_finite() && *a > 0.0);
                let mut exposed = true;
                // 2. a pending order.
                if let Some(mut pend) = sym.pending.take() {
                    match model.on_bar(&mut pend.sim, &bar) {
                        Some(fill) => match pend.intent {
                            Intent::Entry { dist } => {
                                let side = pend.sim.order().side;
                                let dir: i8 = if side == Side::Buy { 1 } else { -1 };
                                let stop = fill.price - i64::from(dir) * dist;
                                // A BUY's commission is taken in the base asset: the
                                // position holds what is left, down to the lot step
                                // (as on Binance, and as the live trade engine books
                                // it); the commission is the entry's fee and the rest
                                // below the step stays as dust, bought at the fill.
                                let held = held_steps(&sym.filters, fill.qty, fill.commission);
                                let px = fill.price as f64 * sym.tick;
                                let fee = fee_quote(fill.commission, px);
                                let dust = match fill.commission.asset {
                                    FeeAsset::Base => {
                                        let c = fill.commission;
                                        let paid = c.amount as f64 / 10f64.powi(c.precision as i32);
                                        ((fill.qty - held) as f64 * sym.step - paid).max(0.0)
                                    }
                                    FeeAsset::Quote => 0.0,
                                };
                                // Spot: the free quote asset must pay for the fill, or
                                // the exchange (and the paper account) refuses it.
                                let cost = fill.price as f64 * sym.tick * fill.qty as f64 * sym.step;
                                let affordable = cost <= book.cash - committed + 1e-9;
                                if stop > 0 && held > 0 && affordable {
                                    let id = book.next_id;
                                    book.next_id += 1;
                                    let tr = if dir > 0 { &mut long_tr } else { &mut short_tr };
                                    let plan = if sym.s.lower.is_some() { &plan_lower[si] } else { &plan_main };
                                    tr.add(
                                        &NewPosition {
                                            id,
                                            symbol: sym.s.symbol,
                                            side: if dir > 0 { PositionSide::Long } else { PositionSide::Short },
                                            entry: fill.price,
                                            stop,
                                            qty: held,
                                            opened_at: fill.ts,
                                        },
                                        plan,
                                    )?;
                                    book.cash -= fee + dust * px;
                                    sym.dust += dust;
                                    sym.pos = Some(Open {
                                        id,
                                        dir,
                                        entry_ticks: fill.price,
                                        qty0: held,
                                        qty: held,
                                        entry_time: fill.ts,
                                        signal_time: pend.signal_time,
                                        entry_bar: k,
                                        stop_ticks: stop,
                                        fees: fee,
                                        gross: 0.0,
                                        exit_atoms: 0,
                                        exited: 0,
                                        partials: 0,
                                    });
                                    open_count += 1;
                                } else {
                                    book.counters.skipped += 1;
                                }
                            }
                            Intent::Exit => {
                                if let Some(p) = sym.pos {
                                    let tr = if p.dir > 0 { &mut long_tr } else { &mut short_tr };
                                    tr.remove(p.id);
                                    let fee = fee_quote(fill.commission, fill.price as f64 * sym.tick);
                                    let pm = sym.pos.as_mut().expect("checked above");
                                    let gross = f64::from(pm.dir)
                                        * (fill.price - pm.entry_ticks) as f64
                                        * sym.tick
                                        * fill.qty as f64
                                        * sym.step;
                                    book.cash += gross - fee;
                                    pm.fees += fee;
                                    pm.gross += gross;
                                    pm.exit_atoms += i128::from(fill.price) * i128::from(fill.qty);
                                    pm.exited += fill.qty;
                                    pm.qty -= fill.qty;
                                    book.finish(sym, si, fill.ts, k, ExitReason::Signal);
                                    open_count -= 1;
                                }
                                exposed = false;
                            }
                        },
                        None => sym.pending = Some(pend),
                    }
                }
                // 3. the stops of an open position.
                if exposed {
                    if let Some(p) = sym.pos {
                        let tr = if p.dir > 0 { &mut long_tr } else { &mut short_tr };
                        let mut used_lower = false;
                        let series = sym.s;
                        if let Some(l) = &series.lower {
                            let mut j = sym.lower_next;
                            while j < l.open_time.len() && l.open_time[j] < t {
                                j += 1;
                            }
                            sym.lower_next = j;
                            if j < l.open_time.len() && l.open_time[j] < t + iv {
                                used_lower = true;
                                book.counters.lower_tf_bars += 1;
                                while j < l.open_time.len() && l.open_time[j] < t + iv && sym.pos.is_some() {
                                    let sub = sym.lower_bar(l, j);
                                    book.events.clear();
                                    book.events.extend_from_slice(tr.on_candle(sym.s.symbol, &sub, None));
                                    book.on_events(sym, si, &model, k);
                                    j += 1;
                                }
                                if let (Some(a), true) = (atr_ticks, sym.pos.is_some()) {
                                    tr.set_atr(sym.s.symbol, a);
                                }
                            }
                        }
                        if !used_lower {
                            book.events.clear();
                            book.events.extend_from_slice(tr.on_candle(sym.s.symbol, &bar, atr_ticks));
                            book.on_events(sym, si, &model, k);
                        }
                        if sym.pos.is_none() {
                            open_count -= 1;
                            if sym.pending.as_ref().is_some_and(|p| matches!(p.intent, Intent::Exit)) {
                                sym.pending = None;
                            }
                        }
                    }
                }
                // 4. the signal.
                if let Some(sig_side) = signal {
                    book.counters.signals += 1;
                    let dir: i8 = if sig_side == Side::Buy { 1 } else { -1 };
                    let sent_at = bar.close_time;
                    if let Some(p) = sym.pos {
                        if p.dir != dir && cfg.exit_on_opposite && sym.pending.is_none() {
                            let side = if p.dir > 0 { Side::Sell } else { Side::Buy };
                            let order = Order { side, kind: OrderKind::Market, qty: p.qty, sent_at };
                            match model.submit(&sym.filters, order) {
                                Ok(sim) => {
                                    sym.pending = Some(Pending { sim, intent: Intent::Exit, signal_time: sent_at });
                                }
                                Err(_) => book.counters.skipped += 1,
                            }
                        }
                    } else if sym.pending.is_none() && (dir > 0 || cfg.allow_short) {
                        let entry = bar.close;
                        let dist = if cfg.stops.stop_atr > 0.0 {
                            atr_ticks.map_or(0, |a| (a * cfg.stops.stop_atr).ceil() as i64)
                        } else {
                            pct_distance(entry, stop_pct_ppm)
                        };
                        let pending_entries = syms_pending_entries(&syms);
                        if dist <= 0 || open_count + pending_entries >= max_pos {
                            book.counters.skipped += 1;
                        } else {
                            let eq = book.cash + syms.iter().map(|s| s.unrealized() + s.dust_value()).sum::<f64>();
                            let committed: f64 = syms.iter().map(Sym::notional).sum();
                            let sym = &syms[si];
                            // the quote asset free to pay (as the paper account's)
                            let free = book.cash - committed;
                            let side = if dir > 0 { Side::Buy } else { Side::Sell };
                            let req = SizingRequest {
                                side,
                                equity: dec_of(eq.max(0.0)),
                                risk_pct: dec_of(cfg.risk_pct),
                                entry,
                                stop: entry - i64::from(dir) * dist,
                                cash: Some(dec_of(free.max(0.0))),
                                max_notional: Some(dec_of((eq * cfg.max_position_pct / 100.0).max(0.0))),
                            };
                            let order = size_position(&sym.filters, &req).ok().and_then(|sz| {
                                model
                                    .submit(&sym.filters, Order { side, kind: OrderKind::Market, qty: sz.qty, sent_at })
                                    .ok()
                            });
                            let sym = &mut syms[si];
                            match order {
                                Some(sim) => {
                                    sym.pending =
                                        Some(Pending { sim, intent: Intent::Entry { dist }, signal_time: sent_at });
                                }
                                None => book.counters.skipped += 1,
                            }
                        }
                    } else {
                        book.counters.skipped += 1;
                    }
                }
            }
        }
        if trading {
            let unreal: f64 = if open_count > 0 { syms.iter().map(Sym::unrealized).sum() } else { 0.0 };
            let dust: f64 = syms.iter().map(Sym::dust_value).sum();
            times.push(interval.close_time(t));
            equity.push(book.cash + unreal + dust);
            if open_count > 0 {
                bars_in_market += 1;
            }
        }
    }
    // Close what is still open at the last close, as taker.
    let last = times.len().saturating_sub(1);
    let last_time = times.last().copied().unwrap_or(0);
    for (si, sym) in syms.iter_mut().enumerate() {
        if let Some(p) = sym.pos {
            let tr = if p.dir > 0 { &mut long_tr } else { &mut short_tr };
            tr.remove(p.id);
            let close = sym.ticks(sym.last_close);
            book.exit_fill(sym, &model, close, p.qty, Liquidity::Taker);
            book.finish(sym, si, last_time, last, ExitReason::EndOfData);
        }
    }
    if let Some(e) = equity.last_mut() {
        *e = book.cash + syms.iter().map(Sym::dust_value).sum::<f64>();
    }
    book.counters.candles = processed;
    if let Some(p) = progress {
        p.store(processed, Ordering::Relaxed);
    }
    let periods_per_year =
        if cfg.periods_per_year > 0.0 { cfg.periods_per_year } else { 365.0 * 86_400_000.0 / iv as f64 };
    Ok(BacktestResult {
        trades: book.trades,
        times,
        equity,
        bars_in_market,
        init_cash: cfg.init_cash,
        periods_per_year,
        counters: book.counters,
    })
}

fn syms_pending_entries(syms: &[Sym<'_>]) -> usize {
    syms.iter().filter(|s| s.pending.as_ref().is_some_and(|p| matches!(p.intent, Intent::Entry { .. }))).count()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backtest::config::{FilterConfig, IntrabarRule, TakeProfitConfig};

    pub(crate) struct Owned {
        pub t: Vec<i64>,
        pub o: Vec<f64>,
        pub h: Vec<f64>,
        pub l: Vec<f64>,
        pub c: Vec<f64>,
        pub v: Vec<f64>,
    }

    pub(crate) fn owned(rows: &[(f64, f64, f64, f64)], t0: i64, step: i64) -> Owned {
        Owned {
            t: (0..rows.len() as i64).map(|i| t0 + i * step).collect(),
            o: rows.iter().map(|r| r.0).collect(),
            h: rows.iter().map(|r| r.1).collect(),
            l: rows.iter().map(|r| r.2).collect(),
            c: rows.iter().map(|r| r.3).collect(),
            v: vec![1_000.0; rows.len()],
        }
    }

    pub(crate) fn cols(d: &Owned) -> KlineColumns<'_> {
        KlineColumns {
            open_time: &d.t,
            open: &d.o,
            high: &d.h,
            low: &d.l,
            close: &d.c,
            volume: &d.v,
            quote_volume: None,
            trades: None,
            taker_buy_base: None,
            closed: None,
        }
    }

    /// tick 0.01, step 0.001, minNotional 5; stop 10 % below the signal
    /// close; 1 % risk of 10 000; fees 0.1 %; no slippage, no latency.
    fn cfg() -> BacktestConfig {
        let mut c = BacktestConfig::default();
        c.stops.stop_atr = 0.0;
        c.stops.stop_pct = 10.0;
        c.default_filters = FilterConfig { tick_size: 0.01, step_size: 0.001, min_qty: 0.0, min_notional: 5.0 };
        c
    }

    const T0: i64 = 1_700_000_040_000; // a whole minute

    /// Flat at 100, a BUY at the close of bar 2; bar 3 opens at 101; bar 5
    /// goes down to 90 (through the stop) and up to 112.
    fn rows() -> Vec<(f64, f64, f64, f64)> {
        vec![
            (100.0, 100.5, 99.5, 100.0),
            (100.0, 100.5, 99.5, 100.0),
            (100.0, 100.5, 99.5, 100.0),
            (101.0, 103.0, 100.0, 102.0),
            (102.0, 102.5, 100.5, 101.0),
            (101.0, 112.0, 90.0, 105.0),
            (105.0, 106.0, 104.0, 105.0),
        ]
    }

    fn run(c: &BacktestConfig, lower: Option<&Owned>) -> BacktestResult {
        let d = owned(&rows(), T0, 60_000);
        let mut sig = vec![0i8; d.t.len()];
        sig[2] = 1;
        let s = Series {
            symbol: "TESTUSDT",
            interval: Interval::M1,
            cols: cols(&d),
            lower: lower.map(|l| LowerSeries {
                interval: Interval::S1,
                open_time: &l.t,
                open: &l.o,
                high: &l.h,
                low: &l.l,
                close: &l.c,
            }),
            signals: Some(&sig),
        };
        run_backtest(c, &[s], Window::default(), None).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn fees_on_a_stopped_long_match_the_hand_computation() {
        // Sized at the signal: risk 100 over 100.00 - 90.00 → 10.000 units.
        // Filled at bar 3's open 101.00; the 0.1 % commission is 0.010 of
        // the units bought, so 9.990 are held and the entry fee is
        // 0.010 × 101 = 1.01. Stop 101 - 10 = 91.00, hit inside bar 5 → exit
        // of 9.990 at 91.00: fee 0.1 % × 909.09 = 0.90909; gross
        // −10 × 9.99 = −99.9 → pnl −101.81909.
        let r = run(&cfg(), None);
        assert_eq!(r.trades.len(), 1);
        let t = r.trades[0];
        assert_eq!((t.entry_price, t.exit_price, t.qty, t.stop), (101.0, 91.0, 9.99, 91.0));
        assert_eq!((t.entry_time, t.exit_time), (T0 + 3 * 60_000, T0 + 5 * 60_000 + 19_999));
        assert_eq!((t.entry_bar, t.exit_bar, t.reason), (3, 5, ExitReason::StopLoss));
        assert!(close(t.fees, 1.91909) && close(t.pnl, -101.81909), "{t:?}");
        assert!(close(*r.equity.last().unwrap(), 10_000.0 - 101.81909));
        // Marked to market at bar 4's close (101): fee paid, nothing else.
        assert!(close(r.equity[4], 10_000.0 - 1.01));
        assert_eq!(r.times[0], T0 + 59_999);
    }

    #[test]
    fn slippage_moves_both_fills_against_the_trader() {
        // 5 bps: BUY at 101 × 1.0005 = 101.0505 → 101.06 (up to the tick);
        // stop 91.06; SELL of the 9.99 held at 91.06 × 0.9995 = 91.01447 →
        // 91.01 (down). Fees 0.01 × 101.06 = 1.0106 and 0.1 % × 909.1899 =
        // 0.9091899; gross (91.01 − 101.06) × 9.99 = −100.3995 → pnl
        // −102.3192899.
        let mut c = cfg();
        c.fills.slippage_bps = 5.0;
        let t = run(&c, None).trades[0];
        assert_eq!((t.entry_price, t.exit_price, t.stop), (101.06, 91.01, 91.06));
        assert!(close(t.pnl, -102.319_289_9), "{t:?}");
    }

    #[test]
    fn latency_fills_at_the_first_path_price_after_it() {
        // Signal at bar 2's close (T0 + 179_999). 30 s latency → arrives at
        // bar 3 + 29_999; bar 3 (bullish: 101 → 100 → 103 → 102, points at
        // +0, +19_999, +39_999, +59_999) first prices it at 103 (+39_999).
        let mut c = cfg();
        c.fills.latency_ms = 30_000;
        let t = run(&c, None).trades[0];
        assert_eq!((t.entry_price, t.entry_time), (103.0, T0 + 3 * 60_000 + 39_999));
        // One minute → bar 3's close, 102.
        c.fills.latency_ms = 60_000;
        let t = run(&c, None).trades[0];
        assert_eq!((t.entry_price, t.entry_time), (102.0, T0 + 3 * 60_000 + 59_999));
        // None (or 1 ms) → bar 3's open.
        c.fills.latency_ms = 1;
        assert_eq!(run(&c, None).trades[0].entry_price, 101.0);
    }

    #[test]
    fn stop_and_target_in_one_candle_resolve_worst_case_unless_told() {
        // Target 1R = 101 + 10 = 111; bar 5 spans 90..112: both inside.
        let mut c = cfg();
        c.stops.take_profits = vec![TakeProfitConfig { r: 1.0, fraction: 1.0 }];
        let t = run(&c, None).trades[0];
        assert_eq!((t.reason, t.exit_price), (ExitReason::StopLoss, 91.0));
        c.intrabar = IntrabarRule::Best;
        let t = run(&c, None).trades[0];
        // The target: a maker fill of the 9.99 held at 111, fee 0.1 % ×
        // 1108.89 = 1.10889 → pnl 99.9 − 1.01 − 1.10889 = 97.78111.
        assert_eq!((t.reason, t.exit_price), (ExitReason::TakeProfit, 111.0));
        assert!(close(t.pnl, 97.781_11), "{t:?}");
    }

    #[test]
    fn a_lower_timeframe_series_decides_which_came_first() {
        // Inside bar 5, the 1 s candles go up to 112 first, then down to 90:
        // the target fills even under the worst-case rule (at 112 on the
        // sub-candle's path 101 → 101 → 112, timed at +666 ms).
        let mut c = cfg();
        c.stops.take_profits = vec![TakeProfitConfig { r: 1.0, fraction: 1.0 }];
        let t5 = T0 + 5 * 60_000;
        let sub = owned(&[(101.0, 112.0, 101.0, 111.0), (111.0, 111.0, 90.0, 105.0)], t5, 1_000);
        let r = run(&c, Some(&sub));
        let t = r.trades[0];
        assert_eq!((t.reason, t.exit_price, t.exit_time), (ExitReason::TakeProfit, 111.0, t5 + 666));
        assert_eq!(r.counters.lower_tf_bars, 1); // only bar 5 has finer candles
                                                 // The opposite order in the finer series → the stop.
        let sub = owned(&[(101.0, 101.0, 90.0, 95.0), (95.0, 112.0, 95.0, 105.0)], t5, 1_000);
        assert_eq!(run(&c, Some(&sub)).trades[0].reason, ExitReason::StopLoss);
    }

    #[test]
    fn filters_refuse_small_orders_and_round_the_size_down() {
        // 0.1 % of 10 000 = 10 over a 10.00 stop → 1.000 unit = 100 USDT:
        // fine; 0.004 % → 0.04 unit = 4 USDT < minNotional 5: refused.
        let mut c = cfg();
        c.risk_pct = 0.004;
        let r = run(&c, None);
        assert!(r.trades.is_empty());
        assert_eq!(r.counters.skipped, 1);
        // 1 % over a 30 % stop: 100 / 30.00 = 3.333… → 3.333 (step 0.001)
        // bought; less the 0.003333 commission, 3.329 held (down to the step).
        c.risk_pct = 1.0;
        c.stops.stop_pct = 30.0;
        assert_eq!(run(&c, None).trades[0].qty, 3.329);
    }

    #[test]
    fn dust_below_the_step_stays_on_the_account_and_is_not_a_fee() {
        // 1 % over a 30 % stop: 3.333 bought at bar 3's open 101.00. The
        // 0.1 % commission is 0.003333 (fee 0.003333 × 101 = 0.336633);
        // 3.329667 are left, 3.329 held (down to the step 0.001) and 0.000667
        // stays as dust, paid 0.000667 × 101 = 0.067367: cash 9 999.596.
        let mut c = cfg();
        c.stops.stop_pct = 30.0;
        let r = run(&c, None);
        let t = r.trades[0];
        assert_eq!((t.qty, t.reason, t.exit_price), (3.329, ExitReason::EndOfData, 105.0));
        // At bar 3's close (102): 9 999.596 + 1 × 3.329 + 0.000667 × 102.
        assert!(close(r.equity[3], 10_002.993_034), "{}", r.equity[3]);
        // Closed at the last close 105 as taker: fee 0.1 % × 349.545 =
        // 0.349545; gross 4 × 3.329 = 13.316. The trade's fees are the two
        // commissions only (0.686178), its P&L 12.629822.
        assert!(close(t.fees, 0.686_178) && close(t.pnl, 12.629_822), "{t:?}");
        // The account keeps the dust at 105: 9 999.596 + 13.316 − 0.349545 +
        // 0.000667 × 105 = 10 012.63249.
        assert!(close(*r.equity.last().unwrap(), 10_012.632_49), "{}", r.equity.last().unwrap());
    }

    #[test]
    fn symbols_are_merged_by_time_and_the_equity_is_sampled_once_per_step() {
        // A trades at T0..T0+3m, B at T0+1m..T0+4m (one minute later): five
        // steps. A BUY on A at step 0 fills at A's open of step 1 (101);
        // B never trades. Equity: 10 000, then marked at A's closes.
        let a = owned(
            &[(100.0, 100.0, 100.0, 100.0), (101.0, 103.0, 101.0, 102.0), (102.0, 104.0, 102.0, 104.0)],
            T0,
            60_000,
        );
        let b = owned(&[(50.0, 50.0, 50.0, 50.0); 4], T0 + 60_000, 60_000);
        let sig_a = [1i8, 0, 0];
        let series = [
            Series { symbol: "AUSDT", interval: Interval::M1, cols: cols(&a), lower: None, signals: Some(&sig_a) },
            Series { symbol: "BUSDT", interval: Interval::M1, cols: cols(&b), lower: None, signals: None },
        ];
        let r = run_backtest(&cfg(), &series, Window::default(), None).unwrap();
        assert_eq!(r.times, (0..5).map(|k| T0 + k * 60_000 + 59_999).collect::<Vec<_>>());
        // 10 units bought (1 % of 10 000 over a 10.00 stop), 9.99 held, entry
        // fee 0.01 × 101 = 1.01.
        let e0 = 10_000.0 - 1.01;
        let want = [10_000.0, e0 + 9.99, e0 + 29.97, e0 + 29.97];
        for (k, (&got, &w)) in r.equity.iter().zip(&want).enumerate() {
            assert!(close(got, w), "step {k}: {got} vs {w}");
        }
        // Closed at A's last close (104) at the end: fee 0.1 % × 1038.96 = 1.03896.
        let t = r.trades[0];
        assert_eq!((t.symbol, t.reason, t.exit_price, t.exit_bar), (0, ExitReason::EndOfData, 104.0, 4));
        assert!(close(*r.equity.last().unwrap(), e0 + 29.97 - 1.038_96));
        // Candles before `start` only warm up: nothing is traded or sampled.
        let r = run_backtest(&cfg(), &series, Window { start: Some(T0 + 60_000), end: Some(T0 + 3 * 60_000) }, None)
            .unwrap();
        assert_eq!(r.times.len(), 2);
        assert!(r.trades.is_empty());
    }

    #[test]
    fn a_sweep_gives_the_same_rows_on_one_thread_and_on_two() {
        use crate::backtest::sweep::{run_sweep, SweepSpec};
        // A deterministic random walk long enough for the engine's signals.
        let mut x: u64 = 42;
        let mut p = 100.0f64;
        let rows: Vec<_> = (0..6_000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let r = ((x >> 33) as f64 / f64::from(1u32 << 31) - 0.5) * 0.01;
                let o = p;
                p *= 1.0 + r;
                (o, o.max(p) * 1.002, o.min(p) * 0.998, p)
            })
            .collect();
        let d = owned(&rows, T0, 60_000);
        let s = [Series { symbol: "RWUSDT", interval: Interval::M1, cols: cols(&d), lower: None, signals: None }];
        let mut base = BacktestConfig::default();
        base.engine.signals.entry_threshold = 55.0;
        base.engine.signals.rearm_threshold = 45.0;
        let text = |t: usize| {
            format!(r#"{{"threads": {t}, "grid": {{"stops.stop_atr": [1, 2, 3], "stops.trail_pct": [0, 1]}}}}"#)
        };
        let one = run_sweep(&base, &SweepSpec::from_json(&text(1)).unwrap(), &s, Window::default()).unwrap();
        let two = run_sweep(&base, &SweepSpec::from_json(&text(2)).unwrap(), &s, Window::default()).unwrap();
        assert_eq!(one.rows.len(), 6);
        assert!(one.rows.iter().any(|r| r.stats.trades > 0), "the walk gives signals");
        for (a, b) in one.rows.iter().zip(&two.rows) {
            assert_eq!(a.values, b.values);
            assert_eq!(a.stats.final_equity.to_bits(), b.stats.final_equity.to_bits());
        }
    }

    #[test]
    fn open_positions_close_at_the_end_and_shorts_need_allow_short() {
        let mut c = cfg();
        c.stops.stop_pct = 50.0;
        let r = run(&c, None);
        let t = r.trades[0];
        assert_eq!((t.reason, t.exit_price), (ExitReason::EndOfData, 105.0));
        assert!(close(*r.equity.last().unwrap(), 10_000.0 + t.pnl));
        assert_eq!(r.bars_in_market, 4);
    }

    /// A deterministic generator (Knuth's MMIX LCG), uniform in [0, 1).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// +1 with probability `buy`, -1 with `sell`, else 0.
        fn signal(&mut self, buy: f64, sell: f64) -> i8 {
            let u = self.next();
            if u < buy {
                1
            } else if u < buy + sell {
                -1
            } else {
                0
            }
        }
    }

    /// `n` candles of a random walk from `p0` on a grid of `tick`.
    fn walk(rng: &mut Lcg, n: usize, p0: f64, vol: f64, tick: f64) -> Vec<(f64, f64, f64, f64)> {
        let on_grid = |x: f64| (x / tick).round() * tick;
        let mut p = p0;
        (0..n)
            .map(|_| {
                let o = p;
                p *= 1.0 + (rng.next() - 0.5) * vol;
                let h = o.max(p) * (1.0 + rng.next() * vol * 0.4);
                let l = o.min(p) * (1.0 - rng.next() * vol * 0.4);
                (on_grid(o), on_grid(h), on_grid(l), on_grid(p))
            })
            .collect()
    }

    /// Drops rows `range` (a gap in the data).
    fn drop_rows(d: &mut Owned, range: std::ops::Range<usize>) {
        d.t.drain(range.clone());
        d.o.drain(range.clone());
        d.h.drain(range.clone());
        d.l.drain(range.clone());
        d.c.drain(range.clone());
        d.v.drain(range);
    }

    /// Three 5-minute symbols for the digest: A (tick 0.01, step 0.001)
    /// with external signals and a 1-minute series (missing over a stretch);
    /// B (tick 0.05, not a power of ten; step 0.1) starting later, with a
    /// gap and clustered external signals; C (tick 0.001, whole units: large
    /// dust) on the engine's own signals.
    struct Digest {
        a: Owned,
        a_lower: Owned,
        b: Owned,
        c: Owned,
        sig_a: Vec<i8>,
        sig_b: Vec<i8>,
    }

    const T5: i64 = 1_699_999_800_000; // a whole 5 minutes

    fn digest_data() -> Digest {
        let mut rng = Lcg(7);
        let n = 1_500;
        let minutes = walk(&mut rng, n * 5, 100.0, 0.006, 0.01);
        let mut a_lower = owned(&minutes, T5, 60_000);
        let a_rows: Vec<_> = minutes
            .chunks(5)
            .map(|m| {
                let h = m.iter().map(|r| r.1).fold(f64::MIN, f64::max);
                let l = m.iter().map(|r| r.2).fold(f64::MAX, f64::min);
                (m[0].0, h, l, m[4].3)
            })
            .collect();
        let a = owned(&a_rows, T5, 300_000);
        drop_rows(&mut a_lower, 2_000..2_600);
        let mut b = owned(&walk(&mut rng, n - 40, 20.0, 0.012, 0.05), T5 + 40 * 300_000, 300_000);
        drop_rows(&mut b, 700..760);
        let c = owned(&walk(&mut rng, n, 3.0, 0.01, 0.001), T5, 300_000);
        let sig_a = (0..a.t.len()).map(|_| rng.signal(0.05, 0.03)).collect();
        let mut sig_b = Vec::with_capacity(b.t.len());
        while sig_b.len() < b.t.len() {
            let s = rng.signal(0.02, 0.02);
            let run = if s == 0 { 1 } else { 1 + (rng.next() * 4.0) as usize };
            sig_b.extend(std::iter::repeat_n(s, run));
        }
        sig_b.truncate(b.t.len());
        Digest { a, a_lower, b, c, sig_a, sig_b }
    }

    fn digest_series(d: &Digest) -> [Series<'_>; 3] {
        let l = &d.a_lower;
        [
            Series {
                symbol: "AUSDT",
                interval: Interval::M5,
                cols: cols(&d.a),
                lower: Some(LowerSeries {
                    interval: Interval::M1,
                    open_time: &l.t,
                    open: &l.o,
                    high: &l.h,
                    low: &l.l,
                    close: &l.c,
                }),
                signals: Some(&d.sig_a),
            },
            Series { symbol: "BUSDT", interval: Interval::M5, cols: cols(&d.b), lower: None, signals: Some(&d.sig_b) },
            Series { symbol: "CUSDT", interval: Interval::M5, cols: cols(&d.c), lower: None, signals: None },
        ]
    }

    /// Percent stops, a trail after 0.5 R, break-even at 1 R, two partial
    /// targets, shorts, slippage, a latency inside the candle, two
    /// positions at most, 40 % of equity each.
    fn digest_cfg() -> BacktestConfig {
        let mut c = BacktestConfig::default();
        c.engine.signals.entry_threshold = 55.0;
        c.engine.signals.rearm_threshold = 45.0;
        c.risk_pct = 2.0;
        c.max_position_pct = 40.0;
        c.max_positions = 2;
        c.allow_short = true;
        c.stops.stop_atr = 0.0;
        c.stops.stop_pct = 1.5;
        c.stops.trail_pct = 1.0;
        c.stops.trail_after_r = 0.5;
        c.stops.breakeven_after_r = 1.0;
        c.stops.take_profits =
            vec![TakeProfitConfig { r: 1.0, fraction: 0.3 }, TakeProfitConfig { r: 2.0, fraction: 0.3 }];
        c.fills.slippage_bps = 3.0;
        c.fills.latency_ms = 20_000;
        let f = |tick_size, step_size, min_notional| FilterConfig { tick_size, step_size, min_qty: 0.0, min_notional };
        c.filters.insert("AUSDT".into(), f(0.01, 0.001, 5.0));
        c.filters.insert("BUSDT".into(), f(0.05, 0.1, 10.0));
        c.filters.insert("CUSDT".into(), f(0.001, 1.0, 5.0));
        c
    }

    /// FNV-1a over every field of every trade, every step's time and
    /// equity (as bits) and the counters.
    fn digest(r: &BacktestResult) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut put = |w: u64| {
            for b in w.to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        put(r.trades.len() as u64);
        for t in &r.trades {
            for w in [t.symbol as u64, t.side as u64, t.signal_time as u64, t.entry_time as u64, t.exit_time as u64] {
                put(w);
            }
            for w in [t.entry_bar as u64, t.exit_bar as u64, u64::from(t.partials), t.reason as u64] {
                put(w);
            }
            for x in [t.entry_price, t.exit_price, t.qty, t.pnl, t.return_pct, t.fees, t.stop] {
                put(x.to_bits());
            }
        }
        put(r.times.len() as u64);
        for (&t, &e) in r.times.iter().zip(&r.equity) {
            put(t as u64);
            put(e.to_bits());
        }
        let k = r.counters;
        for w in [k.candles, k.signals, k.skipped, k.stop_moves, k.lower_tf_bars, r.bars_in_market as u64] {
            put(w);
        }
        put(r.periods_per_year.to_bits());
        h
    }

    #[test]
    fn a_refactor_keeps_every_result_bit_for_bit() {
        // Digests of the engine's results on `digest_data`, recorded from the
        // engine before it was split into modules: any change in a trade, a
        // fee, an equity point or a counter changes them.
        let d = digest_data();
        let s = digest_series(&d);
        let base = digest_cfg();
        let mut atr = base.clone();
        atr.risk_pct = 25.0;
        atr.max_position_pct = 100.0;
        atr.max_positions = 0;
        atr.allow_short = false;
        atr.stops.stop_atr = 1.5;
        atr.stops.chandelier_atr = 3.0;
        atr.stops.time_stop_bars = 12;
        atr.stops.take_profits = vec![TakeProfitConfig { r: 1.5, fraction: 0.5 }];
        atr.fills = crate::backtest::config::FillsConfig {
            maker_bps: 2.0,
            taker_bps: 7.5,
            bnb_discount: true,
            slippage_bps: 0.0,
            latency_ms: 0,
        };
        atr.intrabar = IntrabarRule::Direction;
        // Orders wait more than a candle: stops meet pending exits.
        let mut slow = base.clone();
        slow.fills.latency_ms = 400_000;
        slow.intrabar = IntrabarRule::NearestFirst;
        let mut hold = base.clone();
        hold.exit_on_opposite = false;
        // C's step too coarse to hold anything after the commission; B's
        // minimum above what two partial exits leave (no exit order).
        let mut coarse = base.clone();
        coarse.filters.insert(
            "CUSDT".into(),
            FilterConfig { tick_size: 0.001, step_size: 1_000.0, min_qty: 0.0, min_notional: 5.0 },
        );
        coarse.filters.insert(
            "BUSDT".into(),
            FilterConfig { tick_size: 0.05, step_size: 0.1, min_qty: 150.0, min_notional: 10.0 },
        );
        coarse.stops.take_profits = vec![TakeProfitConfig { r: 0.5, fraction: 0.5 }];
        let window = Window { start: Some(T5 + 100 * 300_000), end: Some(T5 + 1_200 * 300_000) };
        let runs = [
            (&base, Window::default()),
            (&atr, Window::default()),
            (&slow, window),
            (&hold, window),
            (&coarse, Window::default()),
        ];
        let progress = AtomicU64::new(0);
        let results: Vec<BacktestResult> =
            runs.iter().map(|(c, w)| run_backtest(c, &s, *w, Some(&progress)).unwrap()).collect();
        assert_eq!(progress.load(Ordering::Relaxed), results[4].counters.candles);
        // The data reaches what the digest is meant to guard.
        let all = || results.iter().flat_map(|r| &r.trades);
        assert!(all().any(|t| t.side < 0) && all().any(|t| t.partials == 2), "shorts and partial exits");
        for reason in [ExitReason::TrailingStop, ExitReason::TimeStop, ExitReason::Signal, ExitReason::EndOfData] {
            assert!(all().any(|t| t.reason == reason), "{reason:?}");
        }
        assert!(results.iter().all(|r| r.counters.lower_tf_bars > 0 && r.counters.skipped > 0));
        let got: Vec<(usize, u64)> = results.iter().map(|r| (r.trades.len(), digest(r))).collect();
        let want = [
            (113, 25_563_890_625_996_800),
            (62, 8_902_536_044_843_333_153),
            (82, 7_904_326_663_562_439_210),
            (83, 4_873_432_139_588_716_032),
            (111, 9_072_628_743_843_655_649),
        ];
        assert_eq!(got, want);
    }
}
