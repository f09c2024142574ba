//! The run's account besides the symbols: the cash, the stop trackers of
//! the open positions, exit fills and their fees, the closed trades and the
//! counters.
use super::symbol::Sym;
use crate::backtest::result::{BacktestTrade, ExitReason, RunCounters};
use crate::fills::{Bar, Commission, FeeAsset, Fill, FillModel, IntrabarPath, Liquidity};
use crate::signals::Side;
use crate::stops::{StopEvent, StopTracker};

/// A commission in the quote asset (a base-asset one valued at `price`).
pub(super) fn fee_quote(c: Commission, price: f64) -> f64 {
    let v = c.amount as f64 / 10f64.powi(c.precision as i32);
    match c.asset {
        FeeAsset::Base => v * price,
        FeeAsset::Quote => v,
    }
}

pub(super) struct Book {
    pub(super) cash: f64,
    pub(super) next_id: u64,
    /// Open positions over every symbol.
    pub(super) open_count: usize,
    pub(super) trades: Vec<BacktestTrade>,
    pub(super) counters: RunCounters,
    /// The live stop monitor's trackers, one per side (each walks its own
    /// intrabar path).
    pub(super) long: StopTracker,
    pub(super) short: StopTracker,
    /// One candle's tracker events.
    events: Vec<StopEvent>,
}

impl Book {
    pub(super) fn new(cash: f64, (long_path, short_path): (IntrabarPath, IntrabarPath)) -> Self {
        Self {
            cash,
            next_id: 1,
            open_count: 0,
            trades: Vec::new(),
            counters: RunCounters::default(),
            long: StopTracker::new(long_path),
            short: StopTracker::new(short_path),
            events: Vec::with_capacity(16),
        }
    }

    /// The tracker of a position of direction `dir` (+1 long, -1 short).
    pub(super) fn tracker(&mut self, dir: i8) -> &mut StopTracker {
        if dir > 0 {
            &mut self.long
        } else {
            &mut self.short
        }
    }

    /// Books `q` steps of the position sold (bought back) at `ticks` for
    /// `fee`: the cash moves, the trade accumulates.
    fn book_exit(&mut self, sym: &mut Sym<'_>, ticks: i64, q: i64, fee: f64) {
        let Some(p) = sym.pos.as_mut() else { return };
        let gross = f64::from(p.dir) * (ticks - p.entry_ticks) as f64 * sym.tick * q as f64 * sym.step;
        self.cash += gross - fee;
        p.fees += fee;
        p.gross += gross;
        p.exit_atoms += i128::from(ticks) * i128::from(q);
        p.exited += q;
        p.qty -= q;
    }

    /// An exit of `q` steps at `ticks` decided by the stops (or the end of
    /// the data): slippage when taker, the fee from the fill model.
    fn exit_fill(&mut self, sym: &mut Sym<'_>, model: &FillModel, ticks: i64, q: i64, liq: Liquidity) {
        let Some(p) = sym.pos else { return };
        let side = if p.dir > 0 { Side::Sell } else { Side::Buy };
        let cfg = model.config();
        let ticks = if liq == Liquidity::Taker { cfg.slippage.apply(side, ticks, q, 0) } else { ticks };
        let price = ticks as f64 * sym.tick;
        let fee = fee_quote(cfg.fees.commission(&sym.filters, side, ticks, q, liq), price);
        self.book_exit(sym, ticks, q, fee);
    }

    /// Step 2: the fill of an exit order (a signal of the other side): the
    /// position leaves its tracker and closes.
    pub(super) fn fill_exit_order(&mut self, sym: &mut Sym<'_>, fill: &Fill, step: usize) {
        let Some(p) = sym.pos else { return };
        self.tracker(p.dir).remove(p.id);
        let fee = fee_quote(fill.commission, fill.price as f64 * sym.tick);
        self.book_exit(sym, fill.price, fill.qty, fee);
        self.finish(sym, fill.ts, step, ExitReason::Signal);
        self.open_count -= 1;
    }

    /// Closes the symbol's position into a trade.
    fn finish(&mut self, sym: &mut Sym<'_>, exit_time: i64, exit_bar: usize, reason: ExitReason) {
        let Some(p) = sym.pos.take() else { return };
        let entry = sym.price(p.entry_ticks);
        let qty = p.qty0 as f64 * sym.step;
        let pnl = p.gross - p.fees;
        self.trades.push(BacktestTrade {
            symbol: sym.index,
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

    /// Step 3: one candle (or lower-timeframe candle) of the position's path
    /// through its tracker, and what the tracker did about it.
    pub(super) fn stops_on_bar(
        &mut self,
        sym: &mut Sym<'_>,
        model: &FillModel,
        bar: &Bar,
        atr_ticks: Option<f64>,
        step: usize,
    ) {
        let Some(p) = sym.pos else { return };
        let tr = if p.dir > 0 { &mut self.long } else { &mut self.short };
        self.events.clear();
        self.events.extend_from_slice(tr.on_candle(sym.s.symbol, bar, atr_ticks));
        self.on_events(sym, model, step);
    }

    /// Applies the stop tracker's events to the symbol's position.
    fn on_events(&mut self, sym: &mut Sym<'_>, model: &FillModel, step: usize) {
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
                    self.finish(sym, ts, step, r);
                }
            }
        }
    }

    /// Closes what is still open at each symbol's last close, as taker, at
    /// the last step.
    pub(super) fn close_at_end(&mut self, syms: &mut [Sym<'_>], model: &FillModel, time: i64, step: usize) {
        for sym in syms {
            if let Some(p) = sym.pos {
                self.tracker(p.dir).remove(p.id);
                let close = sym.ticks(sym.last_close);
                self.exit_fill(sym, model, close, p.qty, Liquidity::Taker);
                self.finish(sym, time, step, ExitReason::EndOfData);
            }
        }
    }
}
