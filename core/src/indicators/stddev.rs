//! Rolling standard deviation, TA-Lib `STDDEV` (population, times `nbdev`).
use super::compat::{check_finite, first_valid, is_zero_or_neg, to_f64, Column};
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};

/// TA-Lib's running mean and population variance (`VAR`): running sums of
/// the values and of their squares, `var = E[x^2] - E[x]^2`. It is TA-Lib's
/// arithmetic, kept for bit-exactness; the same mean is TA-Lib's `SMA`, which
/// is why `BBANDS` gets identical numbers.
#[derive(Debug, Clone)]
pub(crate) struct Variance {
    period: usize,
    divisor: f64,
    window: Window<f64>,
    sum: f64,
    sum_sq: f64,
    count: usize,
}

impl Variance {
    pub(crate) fn new(period: usize) -> Self {
        Self { period, divisor: to_f64(period), window: Window::new(period - 1), sum: 0.0, sum_sq: 0.0, count: 0 }
    }

    /// Feeds a value; `(mean, variance)` once the window is full.
    #[inline]
    pub(crate) fn update(&mut self, x: f64) -> Option<(f64, f64)> {
        self.count += 1;
        let Some(old) = self.window.push(x) else {
            self.sum += x;
            self.sum_sq += x * x;
            return None;
        };
        Some(variance_step(&mut self.sum, &mut self.sum_sq, x, old, self.divisor))
    }

    pub(crate) fn period(&self) -> usize {
        self.period
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    pub(crate) fn reset(&mut self) {
        self.window.clear();
        self.sum = 0.0;
        self.sum_sq = 0.0;
        self.count = 0;
    }
}

/// TA-Lib's square root of a variance: `0.0` for anything below `1e-14`.
#[inline]
pub(crate) fn std_of(variance: f64) -> f64 {
    if is_zero_or_neg(variance) {
        0.0
    } else {
        variance.sqrt()
    }
}

/// One bar of TA-Lib's `VAR` loop: add `new` to the running sums, take the
/// means of the full window, remove `old` (the value leaving the window).
/// Returns `(mean, variance)`.
#[inline]
pub(crate) fn variance_step(sum: &mut f64, sum_sq: &mut f64, new: f64, old: f64, divisor: f64) -> (f64, f64) {
    *sum += new;
    *sum_sq += new * new;
    let mean = *sum / divisor;
    let mean_sq = *sum_sq / divisor;
    *sum -= old;
    *sum_sq -= old * old;
    (mean, mean_sq - mean * mean)
}

/// The running sums over the first `period - 1` values (TA-Lib's seed).
#[inline]
pub(crate) fn variance_seed(x: &[f64]) -> (f64, f64) {
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    for &v in x {
        sum += v;
        sum_sq += v * v;
    }
    (sum, sum_sq)
}

/// Rolling population standard deviation times `nbdev` (TA-Lib `STDDEV`).
///
/// A variance below TA-Lib's `1e-14` reads as exactly 0 (so a constant
/// series gives 0, and so would a series quoted around 1e-6 or below: a
/// TA-Lib limit kept for compatibility). The variance is TA-Lib's
/// `E[x^2] - E[x]^2` from running sums, which loses digits when the price
/// level is large against its moves; [`crate::indicators::ZScore`] uses a
/// rolling Welford update instead. Lookback `period - 1`; `period >= 2`
/// (TA-Lib's range). Leading NaNs are skipped like the TA-Lib Python wrapper
/// does.
#[derive(Debug, Clone)]
pub struct StdDev {
    var: Variance,
    nbdev: f64,
    value: f64,
}

impl StdDev {
    /// A standard deviation over `period >= 2` bars, scaled by a finite
    /// `nbdev` (TA-Lib's default is 1).
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 2` or
    /// `nbdev` is not finite.
    pub fn new(period: usize, nbdev: f64) -> CoreResult<Self> {
        let period = check_period("period", period, 2)?;
        let nbdev = check_finite("nbdev", nbdev)?;
        Ok(Self { var: Variance::new(period), nbdev, value: f64::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.var.period()
    }

    /// The multiplier.
    #[must_use]
    pub fn nbdev(&self) -> f64 {
        self.nbdev
    }
}

impl Indicator for StdDev {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> f64 {
        if self.var.count() == 0 && x.is_nan() {
            return f64::NAN;
        }
        if let Some((_, var)) = self.var.update(x) {
            self.value = std_of(var) * self.nbdev;
        }
        self.value
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.var.count() >= self.var.period()
    }

    fn reset(&mut self) {
        self.var.reset();
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.var.period() - 1
    }
}

/// Batch standard deviation: one output per input, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 2` or `nbdev`
/// is not finite.
pub fn stddev(x: &[f64], period: usize, nbdev: f64) -> CoreResult<Vec<f64>> {
    Ok(stddev_column(x, period, nbdev)?.collect())
}

/// [`stddev`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`stddev`], and [`crate::error::CoreError::InvalidInput`] if `out`
/// has another length.
pub fn stddev_into(x: &[f64], period: usize, nbdev: f64, out: &mut [f64]) -> CoreResult<()> {
    stddev_column(x, period, nbdev)?.write(out)
}

fn stddev_column(x: &[f64], period: usize, nbdev: f64) -> CoreResult<Column<impl Iterator<Item = f64> + '_>> {
    check_period("period", period, 2)?;
    check_finite("nbdev", nbdev)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    let values = variances(&x[begin..], period).map(move |(_, var)| std_of(var) * nbdev);
    Ok(Column { n, warm: begin.saturating_add(period - 1), values })
}

/// TA-Lib's `(mean, variance)` of every full window of `x`, lazily.
pub(crate) fn variances(x: &[f64], period: usize) -> impl Iterator<Item = (f64, f64)> + '_ {
    let divisor = to_f64(period);
    let warm = (period - 1).min(x.len());
    let (mut sum, mut sum_sq) = variance_seed(&x[..warm]);
    x[warm..].iter().zip(x).map(move |(&new, &old)| variance_step(&mut sum, &mut sum_sq, new, old, divisor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stddev_is_the_population_deviation() {
        // Window [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, population std 2.
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let out = stddev(&x, 8, 1.0).unwrap();
        assert!(out[6].is_nan());
        assert_eq!(out[7], 2.0);
        assert_eq!(stddev(&x, 8, 2.5).unwrap()[7], 5.0);
    }

    #[test]
    fn stddev_of_a_constant_series_is_exactly_zero() {
        let out = stddev(&[3.3; 10], 4, 1.0).unwrap();
        assert!(out[3..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn streaming_stddev_matches_batch_and_validates() {
        let x = [1.0, 3.0, 2.0, 8.0, -1.0, 4.5, 4.5];
        let batch = stddev(&x, 3, 1.5).unwrap();
        let mut s = StdDev::new(3, 1.5).unwrap();
        assert_eq!(s.lookback(), 2);
        for (&v, &b) in x.iter().zip(&batch) {
            let o = s.update(v);
            assert!(o.to_bits() == b.to_bits() || (o.is_nan() && b.is_nan()));
        }
        s.reset();
        assert!(!s.is_ready());
        assert!(StdDev::new(1, 1.0).is_err());
        assert!(StdDev::new(5, f64::NAN).is_err());
    }
}
