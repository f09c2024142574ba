//! Exponential moving average, TA-Lib `EMA`.
use super::compat::{first_valid, to_f64, Column};
use super::Indicator;
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// TA-Lib's smoothing factor `2 / (period + 1)`.
#[inline]
pub(crate) fn ema_k(period: usize) -> f64 {
    2.0 / to_f64(period.saturating_add(1))
}

/// One EMA step: `prev + k * (x - prev)`, rearranged for a short chain.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernels
pub(crate) fn ema_step(prev: f64, x: f64, k: f64) -> f64 {
    // `fma(prev, 1 - k, x * k)`: one correctly rounded multiply-add on the
    // chain from bar to bar (TA-Lib 0.6's `(x - prev) * k + prev` had
    // three operations); `1 - k` is hoisted out of the loops. `mul_add`
    // rounds once in every build (the FMA instruction in the kernels
    // `crate::simd::dispatch` compiles for AVX2 + FMA, the C library's `fma`
    // elsewhere), so batch and streaming give the same bits.
    prev.mul_add(1.0 - k, x * k)
}

/// Exponential moving average (TA-Lib `EMA`, default compatibility).
///
/// Seeded with the simple average of the first `period` values, then
/// `prev + k * (x - prev)` with `k = 2 / (period + 1)`. Lookback
/// `period - 1`. `period == 1` returns the input unchanged (TA-Lib 0.6
/// rejects 1). Leading NaNs are skipped like the TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    count: usize,
    seed: f64,
    value: f64,
}

impl Ema {
    /// An EMA over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self { period, k: ema_k(period), count: 0, seed: 0.0, value: f64::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Ema {
    type Input = f64;
    type Output = f64;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, x: f64) -> f64 {
        // past the seed (the steady state, tested first); a period of 1
        // takes `x` itself below (its `k` of 1 would turn an infinite
        // previous value into NaN)
        if self.count >= self.period && self.period > 1 {
            self.count += 1;
            self.value = ema_step(self.value, x, self.k);
            return self.value;
        }
        if self.count == 0 && x.is_nan() {
            return f64::NAN;
        }
        self.count += 1;
        if self.period == 1 {
            self.value = x;
        } else {
            // warming up (the steady state returned above): the seed's sum,
            // and its mean once `period` values are in
            self.seed += x;
            if self.count == self.period {
                self.value = self.seed / to_f64(self.period);
            }
        }
        self.value
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.count >= self.period
    }

    fn reset(&mut self) {
        self.count = 0;
        self.seed = 0.0;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// Batch EMA: one output per input, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn ema(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    ema_with::<Dispatched>(x, period)
}

/// [`ema`] in the build `B` (tests run the plain one beside it).
fn ema_with<B: Build>(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    let column = ema_column(x, period)?;
    Ok(B::run(
        #[inline(always)]
        || column.collect(),
    ))
}

/// [`ema`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`ema`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn ema_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    let column = ema_column(x, period)?;
    Dispatched::run(
        #[inline(always)]
        || column.write(out),
    )
}

fn ema_column(x: &[f64], period: usize) -> CoreResult<Column<impl Iterator<Item = f64> + '_>> {
    check_period("period", period, 1)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    let x = &x[begin..];
    let identity = period == 1;
    let k = ema_k(period);
    let seeded = !identity && x.len() >= period;
    let mut prev = 0.0;
    if seeded {
        for &v in &x[..period] {
            prev += v;
        }
        prev /= to_f64(period);
    }
    let first = seeded.then_some(prev);
    let rest = if identity { 0 } else { period.min(x.len()) };
    let values = first.into_iter().chain(x[rest..].iter().map(move |&v| {
        if identity {
            return v;
        }
        prev = ema_step(prev, v, k);
        prev
    }));
    Ok(Column { n, warm: begin.saturating_add(period - 1), values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_seeds_with_the_simple_average() {
        // period 3, k = 0.5: seed (1+2+3)/3 = 2, then (4-2)*0.5+2 = 3,
        // then (11-3)*0.5+3 = 7.
        let out = ema(&[1.0, 2.0, 3.0, 4.0, 11.0], 3).unwrap();
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(&out[2..], &[2.0, 3.0, 7.0]);
    }

    #[test]
    fn ema_after_warmup_matches_reference() {
        let mut e = Ema::new(3).unwrap();
        assert_eq!(e.lookback(), 2);
        for v in [1.0, 2.0] {
            assert!(e.update(v).is_nan());
            assert!(!e.is_ready());
        }
        assert_eq!(e.update(3.0), 2.0);
        assert!(e.is_ready());
        assert_eq!(e.update(4.0), 3.0);
        assert_eq!(e.update(11.0), 7.0);
        assert_eq!(e.value(), 7.0);
        e.reset();
        assert!(e.value().is_nan());
        assert!(e.update(5.0).is_nan());
    }

    #[test]
    fn the_plain_build_gives_the_bits_of_the_dispatched_one_and_the_stream() {
        // On a CPU with AVX2 and FMA, `ema` runs the FMA instruction and
        // `Plain` the C library's `fma`: both round once, so the bits agree.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut x = vec![f64::NAN];
        let mut price = 40_000.0;
        for _ in 0..10_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            price += (f64::from((state >> 33) as u32) / f64::from(u32::MAX) - 0.5) * 50.0;
            x.push(price);
        }
        for period in [1, 2, 30] {
            let fast = ema(&x, period).unwrap();
            let slow = ema_with::<crate::simd::Plain>(&x, period).unwrap();
            let mut into = vec![0.0; x.len()];
            ema_into(&x, period, &mut into).unwrap();
            let mut e = Ema::new(period).unwrap();
            let streamed: Vec<f64> = x.iter().map(|&v| e.update(v)).collect();
            assert!(fast[period..].iter().all(|v| v.is_finite()));
            for (name, other) in [("plain", &slow), ("into", &into), ("streamed", &streamed)] {
                let same =
                    fast.iter().zip(other.iter()).all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan());
                assert!(same, "period {period}, {name}");
            }
        }
    }

    #[test]
    fn ema_rejects_period_zero() {
        assert!(Ema::new(0).is_err());
        assert!(ema(&[1.0], 0).is_err());
    }
}
