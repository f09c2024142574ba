//! Simple moving average, TA-Lib `SMA`.
use super::compat::{first_valid, to_f64, Column};
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};

/// Simple moving average of the last `period` values (TA-Lib `SMA`).
///
/// Kept as TA-Lib does: a running total that adds the new value, yields
/// `total / period`, then subtracts the value leaving the window. A NaN or
/// infinity therefore stays in the total for good, as in TA-Lib.
/// Lookback `period - 1`. `period == 1` returns the input unchanged
/// (TA-Lib 0.6 rejects 1; this is its `MA` with period 1).
/// Leading NaNs are skipped like the TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Sma {
    core: SmaCore,
}

impl Sma {
    /// An SMA over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        Ok(Self { core: SmaCore::new(check_period("period", period, 1)?) })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.core.period
    }
}

impl Indicator for Sma {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> f64 {
        if self.core.count == 0 && x.is_nan() {
            return f64::NAN;
        }
        self.core.update(x)
    }

    fn value(&self) -> f64 {
        self.core.value
    }

    fn is_ready(&self) -> bool {
        self.core.count >= self.core.period
    }

    fn reset(&mut self) {
        self.core.reset();
    }

    fn lookback(&self) -> usize {
        self.core.period - 1
    }
}

/// The SMA recursion without the leading-NaN rule: TA-Lib's `MA` as used
/// inside other functions (the smoothing of `STOCH`).
#[derive(Debug, Clone)]
pub(crate) struct SmaCore {
    period: usize,
    divisor: f64,
    window: Window<f64>,
    total: f64,
    count: usize,
    value: f64,
}

impl SmaCore {
    pub(crate) fn new(period: usize) -> Self {
        Self {
            period,
            divisor: to_f64(period),
            window: Window::new(period.saturating_sub(1)),
            total: 0.0,
            count: 0,
            value: f64::NAN,
        }
    }

    #[inline]
    pub(crate) fn update(&mut self, x: f64) -> f64 {
        self.count += 1;
        if self.period == 1 {
            self.value = x;
            return x;
        }
        self.total += x;
        if let Some(old) = self.window.push(x) {
            let sum = self.total;
            self.total -= old;
            self.value = sum / self.divisor;
        }
        self.value
    }

    pub(crate) fn reset(&mut self) {
        self.window.clear();
        self.total = 0.0;
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// Batch SMA: one output per input, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn sma(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    Ok(sma_column(x, period)?.collect())
}

/// [`sma`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`sma`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn sma_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    sma_column(x, period)?.write(out)
}

fn sma_column(x: &[f64], period: usize) -> CoreResult<Column<impl Iterator<Item = f64> + '_>> {
    check_period("period", period, 1)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    Ok(Column { n, warm: begin.saturating_add(period - 1), values: sma_iter(&x[begin..], period) })
}

/// TA-Lib's SMA of `x`, lazily, from its first full window on (nothing when
/// `x` is shorter than `period`); `period == 1` passes `x` through, as
/// TA-Lib's `MA` does.
pub(crate) fn sma_iter(x: &[f64], period: usize) -> impl Iterator<Item = f64> + '_ {
    let divisor = to_f64(period);
    let warm = period.saturating_sub(1).min(x.len());
    let mut total = 0.0;
    for &v in &x[..warm] {
        total += v;
    }
    let identity = period == 1;
    x[warm..].iter().zip(x).map(move |(&new, &old)| {
        if identity {
            return new;
        }
        total += new;
        let sum = total;
        total -= old;
        sum / divisor
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_of_one_to_five_matches_hand_computation() {
        let out = sma(&[1.0, 2.0, 3.0, 4.0, 5.0], 3).unwrap();
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(&out[2..], &[2.0, 3.0, 4.0]);
    }

    #[test]
    fn streaming_sma_warms_up_then_matches_batch() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let mut s = Sma::new(3).unwrap();
        assert_eq!(s.lookback(), 2);
        let streamed: Vec<f64> = x.iter().map(|&v| s.update(v)).collect();
        assert!(s.is_ready());
        assert_eq!(s.value(), 4.0);
        assert!(streamed[1].is_nan());
        assert_eq!(&streamed[2..], &[2.0, 3.0, 4.0]);
    }

    #[test]
    fn sma_reset_forgets_history() {
        let mut s = Sma::new(2).unwrap();
        s.update(10.0);
        s.update(20.0);
        s.reset();
        assert!(!s.is_ready());
        assert!(s.value().is_nan());
        assert!(s.update(1.0).is_nan());
        assert_eq!(s.update(3.0), 2.0);
    }

    #[test]
    fn sma_skips_leading_nans_like_talib() {
        let nan = f64::NAN;
        let out = sma(&[nan, nan, 1.0, 3.0, 5.0], 2).unwrap();
        assert!(out[..3].iter().all(|v| v.is_nan()));
        assert_eq!(&out[3..], &[2.0, 4.0]);
        let mut s = Sma::new(2).unwrap();
        let streamed: Vec<f64> = [nan, nan, 1.0, 3.0, 5.0].iter().map(|&v| s.update(v)).collect();
        assert_eq!(&streamed[3..], &[2.0, 4.0]);
    }

    #[test]
    fn sma_period_one_is_identity_and_period_zero_is_rejected() {
        assert_eq!(sma(&[1.5, -2.0], 1).unwrap(), vec![1.5, -2.0]);
        assert!(Sma::new(0).is_err());
        assert!(sma(&[1.0], 0).is_err());
        assert!(sma(&[], 3).unwrap().is_empty());
    }
}
