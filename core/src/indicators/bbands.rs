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
    // Two passes: the running sums (serial) leave each window's variance in
    // `upper` and its mean in `middle`; the square roots and the bands then
    // run over the whole columns under `simd::dispatch` (four lanes a
    // `vsqrtpd`, correctly rounded like the scalar `sqrt`, and no fused
    // multiply-add: the same numbers as the streaming `BBands`, bit for bit).
    let mut slots = upper[warm..].iter_mut().zip(middle[warm..].iter_mut());
    each_variance(&x[begin..], period, |mean, var| {
        if let Some((u, m)) = slots.next() {
            (*u, *m) = (var, mean);
        }
    });
    for (u, m) in slots {
        (*u, *m) = (f64::NAN, f64::NAN);
    }
    simd::dispatch(
        #[inline(always)]
        || {
            for ((u, m), l) in upper[warm..].iter_mut().zip(&middle[warm..]).zip(lower[warm..].iter_mut()) {
                let bar = bands(*m, *u, nbdev_up, nbdev_dn);
                (*u, *l) = (bar.upper, bar.lower);
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
