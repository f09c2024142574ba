//! One tracked position and the per-price rules applied to it.
//!
//! Every price is stored in "favourable space", `x = dir × price` with
//! `dir = +1` for a long and `-1` for a short, so one set of rules serves
//! both: a higher `x` is always better, the stop is always below `x`, the
//! peak is the highest `x` seen. Distances (percent trail, k×ATR) are
//! rounded DOWN to whole ticks, so a stop is never farther from the peak
//! than configured.
use super::event::{AdjustReason, CloseReason, StopEvent};
use super::plan::{StopPlan, PPM};
use super::tracker::NewPosition;

/// Long or short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PositionSide {
    Long,
    Short,
}

impl PositionSide {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Long => "LONG",
            Self::Short => "SHORT",
        }
    }

    #[must_use]
    pub fn dir(self) -> i64 {
        match self {
            Self::Long => 1,
            Self::Short => -1,
        }
    }
}

/// Which rule set the current stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopKind {
    Initial,
    BreakEven,
    Trailing,
    Manual,
}

impl StopKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "Initial",
            Self::BreakEven => "BreakEven",
            Self::Trailing => "Trailing",
            Self::Manual => "Manual",
        }
    }

    fn close_reason(self) -> CloseReason {
        match self {
            Self::Initial | Self::Manual => CloseReason::StopLoss,
            Self::BreakEven => CloseReason::BreakEvenStop,
            Self::Trailing => CloseReason::TrailingStop,
        }
    }
}

/// `ceil(a × b / 1000)` for non-negative operands.
fn milli(a: i64, b: u32) -> i64 {
    let p = i128::from(a) * i128::from(b);
    i64::try_from((p + 999) / 1000).unwrap_or(i64::MAX)
}

/// A tracked position (compact: the hot fields first).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Position {
    pub stop: i64,
    pub peak: i64,
    pub next_tp_at: i64,
    pub be_at: i64,
    pub trail_at: i64,
    pub time_stop_at: i64,
    pub qty: i64,
    pub entry: i64,
    pub risk: i64,
    pub initial_qty: i64,
    pub opened_at: i64,
    pub id: u64,
    pub plan: u32,
    pub bars: u32,
    pub dir: i8,
    pub next_tp: u8,
    pub kind: StopKind,
    /// Stops not yet computed from the peak (a new position).
    pub dirty: bool,
}

/// What one price does to a position.
pub(crate) enum Outcome {
    Open,
    Closed,
}

impl Position {
    /// A new position. `entry`, `stop` in ticks (real prices); the caller
    /// has checked that the stop is on the losing side.
    pub fn new(plan_id: u32, plan: &StopPlan, new: &NewPosition<'_>) -> Self {
        let NewPosition { id, side, entry, stop, qty, opened_at: ts, .. } = *new;
        let dir = side.dir();
        let (entry_x, stop_x) = (dir * entry, dir * stop);
        let risk = entry_x - stop_x;
        let at = |r_milli: u32| if r_milli == 0 { i64::MAX } else { entry_x.saturating_add(milli(risk, r_milli)) };
        let mut p = Self {
            stop: stop_x,
            peak: entry_x,
            next_tp_at: i64::MAX,
            be_at: at(plan.breakeven_after_r_milli),
            trail_at: entry_x.saturating_add(milli(risk, plan.trail_after_r_milli)),
            time_stop_at: if plan.time_stop_ms > 0 { ts.saturating_add(plan.time_stop_ms) } else { i64::MAX },
            qty,
            entry: entry_x,
            risk,
            initial_qty: qty,
            opened_at: ts,
            id,
            plan: plan_id,
            bars: 0,
            dir: if dir > 0 { 1 } else { -1 },
            next_tp: 0,
            kind: StopKind::Initial,
            dirty: true,
        };
        p.arm_take_profit(plan);
        p
    }

    fn arm_take_profit(&mut self, plan: &StopPlan) {
        self.next_tp_at = match plan.take_profits.get(usize::from(self.next_tp)) {
            Some(tp) => self.entry.saturating_add(milli(self.risk, tp.r_milli)),
            None => i64::MAX,
        };
    }

    /// Back to a real price.
    #[inline]
    pub fn real(&self, x: i64) -> i64 {
        i64::from(self.dir) * x
    }

    #[inline]
    fn close(&mut self, reason: CloseReason, x: i64, ts: i64, out: &mut Vec<StopEvent>) -> Outcome {
        out.push(StopEvent::TradeClosed { position_id: self.id, reason, price: self.real(x), qty: self.qty, ts });
        self.qty = 0;
        Outcome::Closed
    }

    /// One price (already in favourable space). `continuous`: the price
    /// moved here through every price in between (inside a bar), so a stop
    /// or a take-profit level crossed on the way fills at the level itself;
    /// otherwise (a tick, a gap) at `x`. `atr_ticks`: the current ATR in
    /// ticks (NaN: unknown); `refresh` forces the stop rules to run (new ATR).
    #[inline]
    #[allow(clippy::too_many_arguments)] // the hot path: plain values, no context struct
    pub fn on_price(
        &mut self,
        plan: &StopPlan,
        x: i64,
        ts: i64,
        continuous: bool,
        atr_ticks: f64,
        refresh: bool,
        out: &mut Vec<StopEvent>,
    ) -> Outcome {
        if x <= self.stop {
            let at = if continuous { self.stop } else { x };
            return self.close(self.kind.close_reason(), at, ts, out);
        }
        let moved = x > self.peak;
        if moved {
            self.peak = x;
        }
        if x >= self.next_tp_at && self.take_profits(plan, x, ts, continuous, out) {
            return Outcome::Closed;
        }
        if ts >= self.time_stop_at {
            return self.close(CloseReason::TimeStop, x, ts, out);
        }
        if moved || refresh || self.dirty {
            self.dirty = false;
            self.adjust(plan, atr_ticks, ts, out);
            if x <= self.stop {
                return self.close(self.kind.close_reason(), x, ts, out);
            }
        }
        Outcome::Open
    }

    /// Sells the levels reached; true if nothing is left.
    #[cold]
    fn take_profits(&mut self, plan: &StopPlan, x: i64, ts: i64, continuous: bool, out: &mut Vec<StopEvent>) -> bool {
        while x >= self.next_tp_at {
            let level = self.next_tp;
            let tp = plan.take_profits[usize::from(level)];
            let at = if continuous { self.next_tp_at } else { x };
            let q = i64::try_from(i128::from(self.initial_qty) * i128::from(tp.fraction_ppm) / i128::from(PPM))
                .unwrap_or(i64::MAX)
                .min(self.qty);
            self.next_tp += 1;
            self.arm_take_profit(plan);
            if q == self.qty {
                self.close(CloseReason::TakeProfit, at, ts, out);
                return true;
            }
            if q > 0 {
                self.qty -= q;
                out.push(StopEvent::PartialExit {
                    position_id: self.id,
                    level,
                    fraction_ppm: tp.fraction_ppm,
                    qty: q,
                    price: self.real(at),
                    ts,
                });
            }
        }
        false
    }

    /// Runs the stop rules from the peak; the stop only ever rises.
    pub fn adjust(&mut self, plan: &StopPlan, atr_ticks: f64, ts: i64, out: &mut Vec<StopEvent>) {
        let mut best = self.stop;
        let mut reason = None;
        if self.peak >= self.be_at {
            let be = self.entry.saturating_add(plan.breakeven_offset_ticks);
            if be > best {
                (best, reason) = (be, Some(AdjustReason::BreakEven));
            }
        }
        if plan.trail_ppm > 0 && self.peak >= self.trail_at {
            let dist = i128::from(self.peak.abs()) * i128::from(plan.trail_ppm) / i128::from(PPM);
            let t = self.peak - i64::try_from(dist).unwrap_or(i64::MAX);
            if t > best {
                (best, reason) = (t, Some(AdjustReason::TrailingPercent));
            }
        }
        if plan.chandelier_k_milli > 0 && atr_ticks.is_finite() && atr_ticks > 0.0 {
            let dist = (f64::from(plan.chandelier_k_milli) * atr_ticks / 1000.0).floor() as i64;
            let c = self.peak.saturating_sub(dist);
            if c > best {
                (best, reason) = (c, Some(AdjustReason::Chandelier));
            }
        }
        if let Some(reason) = reason {
            self.set_stop(best, reason, ts, out);
        }
    }

    /// Moves the stop (the caller guarantees `new > self.stop`).
    pub fn set_stop(&mut self, new: i64, reason: AdjustReason, ts: i64, out: &mut Vec<StopEvent>) {
        out.push(StopEvent::SlAdjusted {
            position_id: self.id,
            old_stop: self.real(self.stop),
            new_stop: self.real(new),
            reason,
            ts,
        });
        self.stop = new;
        self.kind = match reason {
            AdjustReason::BreakEven => StopKind::BreakEven,
            AdjustReason::TrailingPercent | AdjustReason::Chandelier => StopKind::Trailing,
            AdjustReason::Manual => StopKind::Manual,
        };
    }

    /// Closes at a price given by the caller (manual exit, time stop).
    pub fn close_at(&mut self, reason: CloseReason, price: i64, ts: i64, out: &mut Vec<StopEvent>) {
        let x = i64::from(self.dir) * price;
        self.close(reason, x, ts, out);
    }
}
