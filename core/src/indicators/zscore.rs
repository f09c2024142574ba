//! Rolling z-score: `(x - mean) / std` over a window (population std).
use super::stddev::Variance;
use super::Indicator;
use crate::error::{check_period, CoreResult};

/// Rolling z-score of the latest value against its window:
/// `(x - mean) / std`, population standard deviation.
///
/// AVD's own definition (TA-Lib has none):
/// * mean and variance are the stable rolling ones of
///   [`crate::indicators::StdDev`] (sums of deviations from a shift near the
///   mean, re-centred whenever their rounding would show), so the result
///   stays accurate for large values with small moves, over any length;
/// * a window of identical values has `std == 0` and scores exactly `0.0`
///   (detected exactly, by the run of equal values, so update residue cannot
///   turn a flat window into noise);
/// * a non-finite value makes the output NaN while it is in the window; the
///   indicator recovers once it has left.
///
/// Lookback `period - 1`; `period >= 2` (a one-value window has no spread).
#[derive(Debug, Clone)]
pub struct ZScore {
    period: usize,
    var: Variance,
    /// Length of the run of equal values ending at the last one.
    run: usize,
    last: f64,
    value: f64,
}

impl ZScore {
    /// A z-score over `period >= 2` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 2)?;
        Ok(Self { period, var: Variance::new(period), run: 0, last: f64::NAN, value: f64::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for ZScore {
    type Input = f64;
    type Output = f64;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, x: f64) -> f64 {
        let stats = self.var.update(x);
        // Exact equality on purpose: only a truly flat window scores 0.
        #[allow(clippy::float_cmp)]
        let same = x == self.last;
        self.run = if same { self.run + 1 } else { 1 };
        self.last = x;
        self.value = match stats {
            None => f64::NAN,
            Some(_) if self.run >= self.period => 0.0,
            Some((mean, var)) => score(x, mean, var),
        };
        self.value
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.var.count() >= self.period
    }

    fn reset(&mut self) {
        self.var.reset();
        self.run = 0;
        self.last = f64::NAN;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// The z-score of `x` against a window's mean and variance: NaN if the
/// window holds a non-finite value, 0 for a zero spread.
#[inline]
fn score(x: f64, mean: f64, var: f64) -> f64 {
    if var.is_nan() || !x.is_finite() {
        f64::NAN
    } else if var == 0.0 {
        0.0
    } else {
        (x - mean) / var.sqrt()
    }
}

/// Batch rolling z-score: one output per input (the streaming [`ZScore`]
/// run over the array).
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
pub fn zscore(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    let mut ind = ZScore::new(period)?;
    Ok(x.iter().map(|&v| ind.update(v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zscore_against_hand_computation() {
        // Window [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, std 2 -> z(9) = 2.
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let out = zscore(&x, 8).unwrap();
        assert!(out[6].is_nan());
        assert!((out[7] - 2.0).abs() < 1e-12);
        // Next window [4, 4, 4, 5, 5, 7, 9, 1]: mean 4.875.
        let mut z = ZScore::new(8).unwrap();
        for v in x {
            z.update(v);
        }
        let w = [4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, 1.0];
        let mean = w.iter().sum::<f64>() / 8.0;
        let std = (w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 8.0).sqrt();
        assert!((z.update(1.0) - (1.0 - mean) / std).abs() < 1e-12);
    }

    #[test]
    fn flat_window_scores_zero_even_after_large_moves() {
        let mut z = ZScore::new(3).unwrap();
        for v in [1e9, -1e9, 3.0, 7.0, 7.0] {
            z.update(v);
        }
        assert_eq!(z.update(7.0), 0.0);
        assert_eq!(z.lookback(), 2);
    }

    #[test]
    fn non_finite_values_blank_the_window_then_leave() {
        let mut z = ZScore::new(2).unwrap();
        z.update(1.0);
        assert!(z.update(f64::INFINITY).is_nan());
        assert!(z.update(3.0).is_nan());
        assert_eq!(z.update(5.0), 1.0);
        z.reset();
        assert!(!z.is_ready() && z.value().is_nan());
        assert!(ZScore::new(1).is_err());
    }
}
