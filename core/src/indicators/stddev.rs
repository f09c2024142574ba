//! Rolling standard deviation, TA-Lib `STDDEV` (population, times `nbdev`).
use super::compat::{check_finite, first_valid, Column};
use super::moments::Moments;
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};

/// A rolling window's stable `(mean, variance)`, streaming: the values kept
/// for re-centring and the sums of [`Moments`].
#[derive(Debug, Clone)]
pub(crate) struct Variance {
    period: usize,
    window: Window<f64>,
    moments: Moments,
}

impl Variance {
    pub(crate) fn new(period: usize) -> Self {
        Self { period, window: Window::new(period), moments: Moments::new(period) }
    }

    /// Feeds a value; `(mean, variance)` once the window is full.
    #[inline]
    pub(crate) fn update(&mut self, x: f64) -> Option<(f64, f64)> {
        match self.window.push(x) {
            Some(old) => self.moments.roll(x, old),
            None => {
                self.moments.add(x);
                if self.moments.count() < self.period {
                    return None;
                }
            }
        }
        let window = &self.window;
        Some(self.moments.get(|| window.iter()))
    }

    pub(crate) fn period(&self) -> usize {
        self.period
    }

    pub(crate) fn count(&self) -> usize {
        self.moments.count()
    }

    pub(crate) fn reset(&mut self) {
        self.window.clear();
        self.moments.reset();
    }
}

/// The standard deviation of a variance from [`Moments`] (never negative;
/// NaN stays NaN).
#[inline]
pub(crate) fn std_of(variance: f64) -> f64 {
    variance.sqrt()
}

/// Rolling population standard deviation times `nbdev` (TA-Lib `STDDEV`).
///
/// The variance comes from [`Moments`]: sums of deviations from a shift
/// kept near the window's mean, re-centred when their rounding would show,
/// so the result is the exact deviation to about `1e-10` of itself on any
/// price level (TA-Lib 0.6's `E[x^2] - E[x]^2` lost every digit of a small
/// deviation on prices near 1e5; TA-Lib 0.8 agrees with this to about
/// `1e-10` of the deviation). A window of equal values reads exactly 0; a
/// non-finite value makes the output NaN while it is in the window.
/// Lookback `period - 1`; `period >= 2` (TA-Lib's range). Leading NaNs are
/// skipped like the TA-Lib Python wrapper does.
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

/// The stable `(mean, variance)` of every full window of `x`, lazily (the
/// same operations as [`Variance`], so bit for bit the same numbers).
pub(crate) fn variances(x: &[f64], period: usize) -> impl Iterator<Item = (f64, f64)> + '_ {
    let mut m = Moments::new(period);
    for &v in &x[..(period - 1).min(x.len())] {
        m.add(v);
    }
    let mut olds = x.iter().copied();
    x.windows(period).map(move |w| {
        let new = w[period - 1];
        if m.count() < period {
            m.add(new);
        } else if let Some(old) = olds.next() {
            m.roll(new, old);
        }
        m.get(|| w.iter().copied())
    })
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
