//! Rolling standard deviation, TA-Lib `STDDEV` (population, times `nbdev`).
use super::compat::{check_finite, check_out, first_valid};
use super::moments::Moments;
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};
use crate::simd;

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
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub(crate) fn update(&mut self, x: f64) -> Option<(f64, f64)> {
        if let Some(old) = self.window.push(x) {
            self.moments.roll(x, old);
        } else {
            self.moments.add(x);
            if self.moments.count() < self.period {
                return None;
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
    check_period("period", period, 2)?;
    check_finite("nbdev", nbdev)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    // Written once (no zero-fill first).
    let mut out = Vec::with_capacity(n);
    out.resize(begin.saturating_add(period - 1).min(n), f64::NAN);
    let warm = out.len();
    // Filled once so the loop writes through a slice (a `push` may call the
    // allocator, and a call in the loop would keep the sums in memory).
    out.resize(n, f64::NAN);
    deviations_into(&x[begin..], period, nbdev, &mut out[warm..]);
    Ok(out)
}

/// [`stddev`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`stddev`], and [`crate::error::CoreError::InvalidInput`] if `out`
/// has another length.
pub fn stddev_into(x: &[f64], period: usize, nbdev: f64, out: &mut [f64]) -> CoreResult<()> {
    check_period("period", period, 2)?;
    check_finite("nbdev", nbdev)?;
    let n = x.len();
    check_out(n, &[("out", out.len())])?;
    let begin = first_valid(n, &[x]);
    let warm = begin.saturating_add(period - 1).min(n);
    let (head, tail) = out.split_at_mut(warm);
    head.fill(f64::NAN);
    deviations_into(&x[begin..], period, nbdev, tail);
    Ok(())
}

/// The deviations of every full window of `x` (no leading NaN) times
/// `nbdev`, into `out` (one slot per window), in one pass under
/// [`simd::dispatch`]: each window's variance (the running sums, a chain of
/// dependent additions that leaves the other units idle) goes to its slot,
/// and the slot [`LAG`] windows back gets its square root in the same
/// iteration, so the square root unit works beside the chain instead of
/// after it (a square root a bar costs about as much as the chain; after it,
/// in a pass of its own, STDDEV took 2.4 ns a bar, beside it 1.8). The last
/// `LAG` slots are rooted after the pass. Correctly rounded like any
/// `sqrt`, and [`Moments`] has no fused multiply-add: the same numbers as
/// [`StdDev`] bit for bit.
fn deviations_into(x: &[f64], period: usize, nbdev: f64, out: &mut [f64]) {
    simd::dispatch(
        #[inline(always)]
        || {
            let mut filled = 0;
            each_variance(x, period, |_, var| {
                if let Some(o) = out.get_mut(filled) {
                    *o = var;
                }
                if let Some(o) = filled.checked_sub(LAG).and_then(|k| out.get_mut(k)) {
                    *o = std_of(*o) * nbdev;
                }
                filled += 1;
            });
            let filled = filled.min(out.len());
            deviations(&mut out[filled.saturating_sub(LAG)..filled], nbdev);
        },
    );
}

/// How far behind the variances their square roots are taken (in L1).
const LAG: usize = 64;

/// Each variance's standard deviation times `nbdev`, in place.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn deviations(variances: &mut [f64], nbdev: f64) {
    for o in variances {
        *o = std_of(*o) * nbdev;
    }
}

/// The stable `(mean, variance)` of every full window of `x`, in order,
/// handed to `emit` (the same operations as [`Variance`], so bit for bit the
/// same numbers). Internal iteration, so the loop is one tight body.
#[allow(clippy::inline_always)] // the closure must inline into the loop: measured
#[inline(always)]
pub(crate) fn each_variance(x: &[f64], period: usize, mut emit: impl FnMut(f64, f64)) {
    let Some(head) = x.get(..period) else {
        return;
    };
    let mut m = Moments::new(period);
    for &v in head {
        m.add(v);
    }
    let (mean, var) = m.get(|| head.iter().copied());
    emit(mean, var);
    // `rest[k..=k + period]` is the window after the one last emitted plus
    // the value leaving it. The inner loop has no call (the sums stay in
    // registers); it stops at a window that needs the slow path.
    let mut rest = x;
    loop {
        let mut hot = m;
        let mut done = 0;
        let mut stopped = false;
        for w in rest.windows(period + 1) {
            let (Some((&old, _)), Some(&new)) = (w.split_first(), w.last()) else {
                continue;
            };
            hot.roll(new, old);
            if let Some((mean, var)) = hot.fast() {
                emit(mean, var);
                done += 1;
            } else {
                stopped = true;
                break;
            }
        }
        m = hot;
        if !stopped {
            return;
        }
        let Some(window) = rest.get(done + 1..=done + period) else {
            return;
        };
        let (mean, var) = m.slow(|| window.iter().copied());
        emit(mean, var);
        rest = &rest[done + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::{same, walk};

    #[test]
    fn the_batch_is_the_stream_bit_for_bit_through_flat_stretches_and_short_series() {
        // a walk on a coarse tick grid: flat windows everywhere, so the sums
        // re-centre often (the slow path between fast runs); series shorter
        // and longer than the square roots' lag
        for (n, period) in [(10_000, 2), (10_000, 20), (10_000, 100), (30, 5), (64 + 9, 10), (65 + 9, 10), (5, 5)] {
            let x = walk(n, 3, 0.5);
            let batch = stddev(&x, period, 1.5).unwrap();
            let mut s = StdDev::new(period, 1.5).unwrap();
            let streamed: Vec<f64> = x.iter().map(|&v| s.update(v)).collect();
            assert!(same(&batch, &streamed), "n {n}, period {period}");
            assert!(batch[period - 1..].iter().all(|v| v.is_finite() && *v >= 0.0), "n {n}, period {period}");
        }
    }

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
