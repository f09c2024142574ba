//! Rate of change, TA-Lib `ROC`.
use super::compat::{first_valid, Column};
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};

/// TA-Lib's `((x / x_then) - 1) * 100`, and `0.0` when `x_then == 0`.
#[inline]
fn roc_of(x: f64, then: f64) -> f64 {
    if then == 0.0 {
        0.0
    } else {
        (x / then - 1.0) * 100.0
    }
}

/// Rate of change in percent over `period` bars (TA-Lib `ROC`):
/// `(x / x[t - period] - 1) * 100`, and `0.0` when the old value is 0 (as
/// TA-Lib). Lookback `period`; `period >= 1`. Leading NaNs are skipped like
/// the TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Roc {
    period: usize,
    window: Window<f64>,
    count: usize,
    value: f64,
}

impl Roc {
    /// A ROC over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self { period, window: Window::new(period), count: 0, value: f64::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Roc {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> f64 {
        if self.count == 0 && x.is_nan() {
            return f64::NAN;
        }
        self.count += 1;
        if let Some(then) = self.window.push(x) {
            self.value = roc_of(x, then);
        }
        self.value
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.count > self.period
    }

    fn reset(&mut self) {
        self.window.clear();
        self.count = 0;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period
    }
}

/// Batch ROC: one output per input, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn roc(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    Ok(roc_column(x, period)?.collect())
}

/// [`roc`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`roc`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn roc_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    roc_column(x, period)?.write(out)
}

fn roc_column(x: &[f64], period: usize) -> CoreResult<Column<impl Iterator<Item = f64> + '_>> {
    check_period("period", period, 1)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    let x = &x[begin..];
    let now = x.get(period..).unwrap_or_default();
    let values = now.iter().zip(x).map(|(&v, &then)| roc_of(v, then));
    Ok(Column { n, warm: begin.saturating_add(period), values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_is_percent_change_over_the_period() {
        let out = roc(&[100.0, 50.0, 110.0, 0.0, 55.0], 2).unwrap();
        assert!(out[1].is_nan());
        assert!((out[2] - 10.0).abs() < 1e-12);
        assert_eq!(out[3], -100.0);
        assert_eq!(out[4], -50.0);
        // An old value of 0 gives 0, as TA-Lib.
        assert_eq!(roc(&[0.0, 3.0], 1).unwrap()[1], 0.0);
    }

    #[test]
    fn streaming_roc_matches_batch() {
        let x = [100.0, 50.0, 110.0, 0.0, 55.0];
        let batch = roc(&x, 2).unwrap();
        let mut r = Roc::new(2).unwrap();
        assert_eq!(r.lookback(), 2);
        for (&v, &b) in x.iter().zip(&batch) {
            let s = r.update(v);
            assert!(s.to_bits() == b.to_bits() || (s.is_nan() && b.is_nan()));
        }
        r.reset();
        assert!(!r.is_ready());
        assert!(Roc::new(0).is_err());
    }
}
