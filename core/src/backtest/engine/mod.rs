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
//!
//! The code follows that order: `series` is the input and its checks,
//! `symbol` each symbol's state; `run_validated` walks the timeline and a
//! step's candles (step 1), `entries` fills entry orders (step 2), `book`
//! books exits and runs the stops on a candle (steps 2 and 3), `lower` on the
//! candles of a finer series (step 3), and `signals` turns a signal into an
//! order (step 4).
//!
//! [`StopTracker`]: crate::stops::StopTracker
//! [`size_position`]: crate::risk::size_position
mod book;
mod entries;
mod lower;
mod series;
mod signals;
mod symbol;
#[cfg(test)]
pub(crate) mod tests;

use std::sync::atomic::{AtomicU64, Ordering};

use book::Book;
pub use series::{validate_series, LowerSeries, Series, Window};
use symbol::{Intent, Sym};

use super::config::BacktestConfig;
use super::result::BacktestResult;
use crate::engine::MarketEngine;
use crate::error::{CoreError, CoreResult};
use crate::fills::{Bar, FillModel};

/// Candles of one symbol run through the engine at a time, ahead of the
/// timeline (the signals and ATRs kept for the fill loop).
const ENGINE_STRIP: usize = 1024;

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
    let mut run = Run::new(cfg, data, progress)?;
    let start = window.start.unwrap_or(i64::MIN);
    let end = window.end.unwrap_or(i64::MAX);
    while let Some(t) = run.next_open_time().filter(|&t| t < end) {
        let trading = t >= start;
        for si in 0..run.syms.len() {
            run.on_candle(si, t, trading)?;
        }
        if trading {
            run.record(t);
        }
    }
    Ok(run.finish())
}

/// One run's state.
struct Run<'a> {
    cfg: &'a BacktestConfig,
    engine: MarketEngine,
    model: FillModel,
    /// `stops.stop_pct` in millionths of the price.
    stop_pct_ppm: i64,
    /// `max_positions`, `usize::MAX` for no limit.
    max_positions: usize,
    syms: Vec<Sym<'a>>,
    book: Book,
    /// Candles processed, and where to report them.
    processed: u64,
    progress: Option<&'a AtomicU64>,
    /// The equity curve: close time and equity of each step traded.
    times: Vec<i64>,
    equity: Vec<f64>,
    bars_in_market: usize,
}

impl<'a> Run<'a> {
    fn new(cfg: &'a BacktestConfig, data: &'a [Series<'a>], progress: Option<&'a AtomicU64>) -> CoreResult<Self> {
        let interval = data[0].interval;
        let mut engine = MarketEngine::new(cfg.engine.clone())?;
        let model = FillModel::new_checked(cfg.fill_config()?)?;
        let plan = cfg.plan(1)?;
        let mut syms = Vec::with_capacity(data.len());
        for (index, s) in data.iter().enumerate() {
            let filters =
                cfg.filters_for(s.symbol).map_err(|e| CoreError::Config(format!("filters.{}: {e}", s.symbol)))?;
            // A time stop in candles counts the finer candles the stops run on.
            let plan = match s.lower {
                Some(l) => cfg.plan((interval.millis() / l.interval.millis()) as u32)?,
                None => plan.clone(),
            };
            syms.push(Sym::new(s, index, engine.track(s.symbol, interval)?, filters, plan));
        }
        let cap = data.iter().map(|s| s.cols.len()).max().unwrap_or(0);
        Ok(Self {
            cfg,
            engine,
            model,
            stop_pct_ppm: (cfg.stops.stop_pct * 10_000.0).round() as i64,
            max_positions: if cfg.max_positions == 0 { usize::MAX } else { cfg.max_positions },
            syms,
            book: Book::new(cfg.init_cash, cfg.intrabar.paths()),
            processed: 0,
            progress,
            times: Vec::with_capacity(cap),
            equity: Vec::with_capacity(cap),
            bars_in_market: 0,
        })
    }

    /// The next open time over every symbol.
    fn next_open_time(&self) -> Option<i64> {
        self.syms.iter().filter_map(|s| s.s.cols.open_time.get(s.next).copied()).min()
    }

    /// Symbol `si`'s candle at `t`, if it has one: 1. the engine; when
    /// `trading`, 2. its pending order, 3. its stops, 4. its signal.
    fn on_candle(&mut self, si: usize, t: i64, trading: bool) -> CoreResult<()> {
        let sym = &mut self.syms[si];
        let i = sym.next;
        if sym.s.cols.open_time.get(i) != Some(&t) {
            return Ok(());
        }
        sym.next += 1;
        self.processed += 1;
        if self.processed.trailing_zeros() >= 12 {
            if let Some(p) = self.progress {
                p.store(self.processed, Ordering::Relaxed);
            }
        }
        if i >= sym.strip_start + sym.strip_side.len() {
            // Step 1 for the next strip of this symbol's candles at once:
            // the engine sees only candles, never fills, so running it
            // ahead changes nothing it computes.
            let end = (i + ENGINE_STRIP).min(sym.s.cols.len());
            sym.strip_start = i;
            sym.strip_side.clear();
            sym.strip_atr.clear();
            let (sides, atrs) = (&mut sym.strip_side, &mut sym.strip_atr);
            self.engine.run_checked(sym.stream, &sym.s.cols, i..end, |_, side, atr| {
                sides.push(side);
                atrs.push(atr);
            })?;
        }
        let k = i - sym.strip_start;
        sym.last_close = sym.s.cols.close[i];
        if !trading {
            return Ok(());
        }
        let signal = sym.signal(i, sym.strip_side[k]);
        if sym.pending.is_none() && sym.pos.is_none() && signal.is_none() {
            return Ok(());
        }
        let bar = sym.bar(i);
        let atr_ticks = Some(sym.strip_atr[k] / sym.tick).filter(|a| a.is_finite() && *a > 0.0);
        if self.on_pending(si, &bar)? {
            self.on_stops(si, &bar, atr_ticks);
        }
        if let Some(side) = signal {
            self.on_signal(si, side, &bar, atr_ticks);
        }
        Ok(())
    }

    /// Step 2: the pending order meets the candle. Returns false when it was an
    /// exit that filled (the position is gone, nothing left for the stops).
    fn on_pending(&mut self, si: usize, bar: &Bar) -> CoreResult<bool> {
        let Some(mut pend) = self.syms[si].pending.take() else { return Ok(true) };
        let Some(fill) = self.model.on_bar(&mut pend.sim, bar) else {
            self.syms[si].pending = Some(pend);
            return Ok(true);
        };
        let step = self.times.len();
        match pend.intent {
            Intent::Entry { dist } => {
                // The quote asset spent on open positions: the fill must fit
                // in what is left.
                let committed: f64 = self.syms.iter().map(Sym::notional).sum();
                self.book.fill_entry(&mut self.syms[si], &pend, dist, &fill, committed, step)?;
                Ok(true)
            }
            Intent::Exit => {
                self.book.fill_exit_order(&mut self.syms[si], &fill, step);
                Ok(false)
            }
        }
    }

    /// Step 3: the stops of an open position along the candle's path; a pending
    /// exit is dropped when they close it.
    fn on_stops(&mut self, si: usize, bar: &Bar, atr_ticks: Option<f64>) {
        let sym = &mut self.syms[si];
        if sym.pos.is_none() {
            return;
        }
        let step = self.times.len();
        if !self.book.stops_on_lower(sym, &self.model, bar, atr_ticks, step) {
            self.book.stops_on_bar(sym, &self.model, bar, atr_ticks, step);
        }
        if sym.pos.is_none() {
            self.book.open_count -= 1;
            if sym.has_pending_exit() {
                sym.pending = None;
            }
        }
    }

    /// The equity after the step at `t`: cash, every open position and
    /// every dust balance marked at its symbol's latest close.
    fn record(&mut self, t: i64) {
        let open = self.book.open_count > 0;
        let unreal: f64 = if open { self.syms.iter().map(Sym::unrealized).sum() } else { 0.0 };
        let dust: f64 = self.syms.iter().map(Sym::dust_value).sum();
        self.times.push(self.syms[0].s.interval.close_time(t));
        self.equity.push(self.book.cash + unreal + dust);
        if open {
            self.bars_in_market += 1;
        }
    }

    /// Closes what is still open at the last close, as taker, and gives the
    /// result.
    fn finish(mut self) -> BacktestResult {
        let last = self.times.len().saturating_sub(1);
        let last_time = self.times.last().copied().unwrap_or(0);
        self.book.close_at_end(&mut self.syms, &self.model, last_time, last);
        if let Some(e) = self.equity.last_mut() {
            *e = self.book.cash + self.syms.iter().map(Sym::dust_value).sum::<f64>();
        }
        self.book.counters.candles = self.processed;
        if let Some(p) = self.progress {
            p.store(self.processed, Ordering::Relaxed);
        }
        let cfg = self.cfg;
        let iv = self.syms[0].s.interval.millis();
        let periods_per_year =
            if cfg.periods_per_year > 0.0 { cfg.periods_per_year } else { 365.0 * 86_400_000.0 / iv as f64 };
        BacktestResult {
            trades: self.book.trades,
            times: self.times,
            equity: self.equity,
            bars_in_market: self.bars_in_market,
            init_cash: cfg.init_cash,
            periods_per_year,
            counters: self.book.counters,
        }
    }
}
