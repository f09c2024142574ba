//! Bollinger Bands, TA-Lib `BBANDS` with an SMA middle band.
use super::compat::{check_finite, check_out, first_valid};
use super::stddev::{each_variance, std_of, Variance};
use super::Indicator;
use crate::error::{check_period, CoreResult};
use crate::simd;

/// Upper, middle and lower band of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBandsOutput {
    /// `middle + nbdev_up * std`.
    pub upper: f64,
    /// The simple moving average.
    pub middle: f64,
    /// `middle - nbdev_dn * std`.
    pub lower: f64,
}

impl BBandsOutput {
    const NAN: Self = Self { upper: f64::NAN, middle: f64::NAN, lower: f64::NAN };
}

/// The three band columns of a batch computation.
pub type BBandsSeries = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Bollinger Bands (TA-Lib `BBANDS`, `matype = SMA`).
///
/// Middle band: the SMA; the deviation is the population standard deviation
/// of the window, computed stably as in [`crate::indicators::StdDev`] (not
/// from TA-Lib 0.6's running sum of squares). Lookback `period - 1`;
/// `period >= 2` (TA-Lib's range). Leading NaNs are skipped like the TA-Lib
/// Python wrapper does.
#[derive(Debug, Clone)]
pub struct BBands {
    var: Variance,
    nbdev_up: f64,
    nbdev_dn: f64,
    value: BBandsOutput,
}

#[inline]
fn bands(mean: f64, var: f64, up: f64, dn: f64) -> BBandsOutput {
    let std = std_of(var);
    BBandsOutput { upper: mean + std * up, middle: mean, lower: mean - std * dn }
}

/// How far behind the variances the bands are computed (in L1).
const LAG: usize = 64;

fn check(period: usize, nbdev_up: f64, nbdev_dn: f64) -> CoreResult<()> {
    check_period("period", period, 2)?;
    check_finite("nbdev_up", nbdev_up)?;
    check_finite("nbdev_dn", nbdev_dn)?;
    Ok(())
}

impl BBands {
    /// Bands over `period >= 2` bars, `nbdev_up`/`nbdev_dn` deviations away
    /// (TA-Lib's defaults: 5, 2, 2; 20, 2, 2 is the classic setting).
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 2` or a
    /// multiplier is not finite.
    pub fn new(period: usize, nbdev_up: f64, nbdev_dn: f64) -> CoreResult<Self> {
        check(period, nbdev_up, nbdev_dn)?;
        Ok(Self { var: Variance::new(period), nbdev_up, nbdev_dn, value: BBandsOutput::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.var.period()
    }

    /// `(nbdev_up, nbdev_dn)`.
    #[must_use]
    pub fn nbdev(&self) -> (f64, f64) {
        (self.nbdev_up, self.nbdev_dn)
    }
}

impl Indicator for BBands {
    type Input = f64;
    type Output = BBandsOutput;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, x: f64) -> BBandsOutput {
        if self.var.count() == 0 && x.is_nan() {
            return BBandsOutput::NAN;
        }
        if let Some((mean, var)) = self.var.update(x) {
            self.value = bands(mean, var, self.nbdev_up, self.nbdev_dn);
        }
        self.value
    }

    fn value(&self) -> BBandsOutput {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.var.count() > self.lookback()
    }

    fn reset(&mut self) {
        self.var.reset();
        self.value = BBandsOutput::NAN;
    }

    fn lookback(&self) -> usize {
        self.var.period() - 1
    }
}

/// Batch Bollinger Bands: `(upper, middle, lower)`.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 2` or a
/// multiplier is not finite.
pub fn bbands(x: &[f64], period: usize, nbdev_up: f64, nbdev_dn: f64) -> CoreResult<BBandsSeries> {
    let n = x.len();
    let (mut upper, mut middle, mut lower) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    bbands_into(x, period, nbdev_up, nbdev_dn, [&mut upper, &mut middle, &mut lower])?;
    Ok((upper, middle, lower))
}

/// [`bbands`] written into `[upper, middle, lower]` (each as long as `x`).
///
/// # Errors
/// As [`bbands`], and [`crate::error::CoreError::InvalidInput`] if an output
/// has another length.
pub fn bbands_into(x: &[f64], period: usize, nbdev_up: f64, nbdev_dn: f64, out: [&mut [f64]; 3]) -> CoreResult<()> {
    check(period, nbdev_up, nbdev_dn)?;
    let n = x.len();
    check_out(n, &[("upper", out[0].len()), ("middle", out[1].len()), ("lower", out[2].len())])?;
    if n == 0 {
        return Ok(());
    }
    let begin = first_valid(n, &[x]);
    let warm = begin.saturating_add(period - 1).min(n);
    let [upper, middle, lower] = out;
    // One pass under `simd::dispatch`: each window's variance and mean go to
    // `upper` and `middle`, and the slot `LAG` windows back gets its bands in
    // the same iteration, so the square root unit works beside the running
    // sums' chain instead of after it (as in `STDDEV`); the last `LAG` slots
    // after the pass. Correctly rounded square roots and no fused
    // multiply-add: the same numbers as the streaming `BBands`, bit for bit.
    let (up, mid, lo) = (&mut upper[warm..], &mut middle[warm..], &mut lower[warm..]);
    simd::dispatch(
        #[inline(always)]
        || {
            let mut filled = 0;
            let band = |k: usize, upper: &mut [f64], middle: &[f64], lower: &mut [f64]| {
                if let (Some(u), Some(&m), Some(l)) = (upper.get_mut(k), middle.get(k), lower.get_mut(k)) {
                    let bar = bands(m, *u, nbdev_up, nbdev_dn);
                    (*u, *l) = (bar.upper, bar.lower);
                }
            };
            each_variance(&x[begin..], period, |mean, var| {
                if let (Some(u), Some(m)) = (up.get_mut(filled), mid.get_mut(filled)) {
                    (*u, *m) = (var, mean);
                }
                if let Some(k) = filled.checked_sub(LAG) {
                    band(k, up, mid, lo);
                }
                filled += 1;
            });
            let filled = filled.min(up.len());
            for k in filled.saturating_sub(LAG)..filled {
                band(k, up, mid, lo);
            }
            for col in [&mut *up, &mut *mid, &mut *lo] {
                col[filled..].fill(f64::NAN);
            }
        },
    );
    for col in [upper, middle, lower] {
        col[..warm].fill(f64::NAN);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbands_are_mean_plus_minus_population_std() {
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let (u, m, l) = bbands(&x, 8, 2.0, 1.0).unwrap();
        assert!(u[6].is_nan() && m[6].is_nan() && l[6].is_nan());
        assert_eq!((u[7], m[7], l[7]), (9.0, 5.0, 3.0));
    }

    #[test]
    fn the_batch_is_the_stream_bit_for_bit_through_flat_stretches_and_short_series() {
        use crate::indicators::testing::walk;
        // flat windows everywhere (re-centring between fast runs); series
        // shorter and longer than the bands' lag, with a leading NaN
        for (n, period) in [(10_000, 2), (10_000, 20), (10_000, 100), (30, 5), (64 + 9, 10), (65 + 9, 10), (5, 5)] {
            let mut x = walk(n, 5, 0.5);
            x[0] = f64::NAN;
            let (u, m, l) = bbands(&x, period, 2.0, 1.5).unwrap();
            let mut b = BBands::new(period, 2.0, 1.5).unwrap();
            for (i, &v) in x.iter().enumerate() {
                let o = b.update(v);
                for (a, r) in [(o.upper, u[i]), (o.middle, m[i]), (o.lower, l[i])] {
                    assert!(
                        a.to_bits() == r.to_bits() || (a.is_nan() && r.is_nan()),
                        "n {n}, period {period}, bar {i}"
                    );
                }
            }
            assert!(u[period..].iter().zip(&l[period..]).all(|(a, b)| a >= b), "n {n}, period {period}");
        }
    }

    #[test]
    fn streaming_bbands_match_batch() {
        let x = [1.0, 3.0, 2.0, 8.0, -1.0, 4.5, 4.5, 4.5];
        let (u, m, l) = bbands(&x, 3, 2.0, 2.0).unwrap();
        let mut b = BBands::new(3, 2.0, 2.0).unwrap();
        assert_eq!(b.lookback(), 2);
        for i in 0..x.len() {
            let o = b.update(x[i]);
            for (a, r) in [(o.upper, u[i]), (o.middle, m[i]), (o.lower, l[i])] {
                assert!(a.to_bits() == r.to_bits() || (a.is_nan() && r.is_nan()));
            }
        }
        b.reset();
        assert!(b.value().middle.is_nan());
        assert!(BBands::new(1, 2.0, 2.0).is_err());
        assert!(BBands::new(5, 2.0, f64::INFINITY).is_err());
    }
}
