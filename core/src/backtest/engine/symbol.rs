//! One symbol's state in a run: its series and filters, where it stands on
//! the timeline, its pending order, its open position and its dust, and the
//! conversions between its prices and the fill model's ticks and steps.
use super::series::{LowerSeries, Series};
use crate::engine::StreamId;
use crate::fills::{Bar, SimOrder, SymbolFilters};
use crate::signals::Side;
use crate::stops::StopPlan;

/// What a pending order is for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Intent {
    /// Opens a position whose stop is `dist` ticks from the fill.
    Entry { dist: i64 },
    /// Closes the position (a signal of the other side).
    Exit,
}

/// An order sent, waiting for its latency and its price.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) sim: SimOrder,
    pub(super) intent: Intent,
    pub(super) signal_time: i64,
}

/// An open position, in ticks and steps.
#[derive(Debug, Clone, Copy)]
pub(super) struct Open {
    pub(super) id: u64,
    pub(super) dir: i8,
    pub(super) entry_ticks: i64,
    pub(super) qty0: i64,
    pub(super) qty: i64,
    pub(super) entry_time: i64,
    pub(super) signal_time: i64,
    pub(super) entry_bar: usize,
    pub(super) stop_ticks: i64,
    pub(super) fees: f64,
    pub(super) gross: f64,
    /// Σ exit ticks × steps (exact), for the average exit price.
    pub(super) exit_atoms: i128,
    pub(super) exited: i64,
    pub(super) partials: u8,
}

pub(super) struct Sym<'a> {
    pub(super) s: &'a Series<'a>,
    /// Index of the series in the input (the trades' `symbol`).
    pub(super) index: usize,
    pub(super) stream: StreamId,
    pub(super) filters: SymbolFilters,
    /// The stop plan of its positions (time stop in candles of the series
    /// the stops run on).
    pub(super) plan: StopPlan,
    pub(super) tick: f64,
    /// 1 / tick when that is a whole number, else 0.
    pub(super) ticks_per_unit: f64,
    pub(super) step: f64,
    /// The next candle, and the next lower-timeframe candle.
    pub(super) next: usize,
    pub(super) lower_next: usize,
    pub(super) pending: Option<Pending>,
    pub(super) pos: Option<Open>,
    pub(super) last_close: f64,
    /// Base asset left below the lot step by base commissions (dust).
    pub(super) dust: f64,
    /// The engine's output on candles `strip_start..` (run ahead of the
    /// timeline, a strip at a time): the primary signal's side and the
    /// ATR (NaN while warming up) after each candle.
    pub(super) strip_start: usize,
    pub(super) strip_side: Vec<Option<Side>>,
    pub(super) strip_atr: Vec<f64>,
}

impl<'a> Sym<'a> {
    pub(super) fn new(
        s: &'a Series<'a>,
        index: usize,
        stream: StreamId,
        filters: SymbolFilters,
        plan: StopPlan,
    ) -> Self {
        Self {
            s,
            index,
            stream,
            filters,
            plan,
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
            dust: 0.0,
            strip_start: 0,
            strip_side: Vec::new(),
            strip_atr: Vec::new(),
        }
    }

    /// The signal at candle `i`: the series' external one when it has
    /// external signals, else the `engine`'s.
    pub(super) fn signal(&self, i: usize, engine: Option<Side>) -> Option<Side> {
        match self.s.signals {
            Some(x) => match x[i] {
                1 => Some(Side::Buy),
                -1 => Some(Side::Sell),
                _ => None,
            },
            None => engine,
        }
    }

    pub(super) fn has_pending_entry(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| matches!(p.intent, Intent::Entry { .. }))
    }

    pub(super) fn has_pending_exit(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| matches!(p.intent, Intent::Exit))
    }

    #[inline]
    pub(super) fn ticks(&self, price: f64) -> i64 {
        (price / self.tick).round() as i64
    }

    #[inline]
    pub(super) fn bar(&self, i: usize) -> Bar {
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

    pub(super) fn lower_bar(&self, l: &LowerSeries<'_>, j: usize) -> Bar {
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

    pub(super) fn price(&self, ticks: i64) -> f64 {
        self.price_f(ticks as f64)
    }

    /// A price in (fractional) ticks as a number: divided by the ticks per
    /// unit when the tick is a power of ten (so 11100 ticks of 0.01 print
    /// as 111.0, not 111.00000000000001).
    pub(super) fn price_f(&self, ticks: f64) -> f64 {
        if self.ticks_per_unit > 0.0 {
            ticks / self.ticks_per_unit
        } else {
            ticks * self.tick
        }
    }

    pub(super) fn unrealized(&self) -> f64 {
        self.pos.map_or(0.0, |p| {
            f64::from(p.dir) * (self.last_close - self.price(p.entry_ticks)) * p.qty as f64 * self.step
        })
    }

    /// The dust balance marked at the latest close.
    pub(super) fn dust_value(&self) -> f64 {
        self.dust * self.last_close
    }

    /// The open position's notional at its entry price.
    pub(super) fn notional(&self) -> f64 {
        self.pos.map_or(0.0, |p| self.price(p.entry_ticks) * p.qty as f64 * self.step)
    }
}
