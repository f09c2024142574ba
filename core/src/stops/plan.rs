//! `StopPlan`: how a position's stop is managed (shared by many positions).
//!
//! All ratios are integers so plans are exact and hashable: percents in
//! parts per million (1% = `10_000` ppm), R multiples in thousandths
//! (1R = `1_000`), ATR multipliers in thousandths (3×ATR = `3_000`).
use crate::error::{CoreError, CoreResult};

/// Most take-profit levels a plan may have.
pub const MAX_TAKE_PROFITS: usize = 16;

/// Parts per million in one.
pub const PPM: i64 = 1_000_000;

/// Sell `fraction_ppm` of the INITIAL quantity once the gain reaches
/// `r_milli / 1000` × R.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TakeProfit {
    pub r_milli: u32,
    pub fraction_ppm: u32,
}

/// The stop rules of a position. Every rule is off at its zero value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StopPlan {
    /// Trailing stop at this percent (ppm) below the peak (above the trough).
    pub trail_ppm: u32,
    /// The percent trail starts once the peak is this many R in profit.
    pub trail_after_r_milli: u32,
    /// Chandelier stop: `peak - k × ATR`, k in thousandths.
    pub chandelier_k_milli: u32,
    /// Move the stop to break-even once the gain reaches N×R.
    pub breakeven_after_r_milli: u32,
    /// Break-even stop = entry + this many ticks in the position's favour
    /// (to cover fees).
    pub breakeven_offset_ticks: i64,
    /// Partial exits, ascending R multiples.
    pub take_profits: Vec<TakeProfit>,
    /// Close after this many ms (0: never).
    pub time_stop_ms: i64,
    /// Close at the close of the N-th candle after entry (0: never).
    pub time_stop_bars: u32,
}

impl StopPlan {
    /// Checks the plan.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] when a percent is >= 100%, a
    /// take-profit level is not above the previous one, fractions are zero
    /// or add up to more than the whole, or a time or offset is negative.
    pub fn validate(&self) -> CoreResult<()> {
        if i64::from(self.trail_ppm) >= PPM {
            return Err(CoreError::param("trail_pct", "must be below 100%"));
        }
        if self.breakeven_offset_ticks < 0 {
            return Err(CoreError::param("breakeven_offset", "must be >= 0"));
        }
        if self.time_stop_ms < 0 {
            return Err(CoreError::param("time_stop_ms", "must be >= 0"));
        }
        if self.take_profits.len() > MAX_TAKE_PROFITS {
            return Err(CoreError::param("take_profits", format!("at most {MAX_TAKE_PROFITS} levels")));
        }
        let mut prev = 0;
        let mut total: i64 = 0;
        for (i, tp) in self.take_profits.iter().enumerate() {
            if tp.r_milli <= prev {
                return Err(CoreError::param(
                    "take_profits",
                    format!("level {i}: R multiples must be > 0 and ascending"),
                ));
            }
            if tp.fraction_ppm == 0 {
                return Err(CoreError::param("take_profits", format!("level {i}: fraction must be > 0")));
            }
            prev = tp.r_milli;
            total += i64::from(tp.fraction_ppm);
        }
        if total > PPM {
            return Err(CoreError::param("take_profits", "fractions add up to more than the whole position"));
        }
        Ok(())
    }
}
