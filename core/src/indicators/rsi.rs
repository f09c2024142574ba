//! Relative strength index, TA-Lib `RSI` (Wilder smoothing).
use super::compat::{check_out, first_valid, to_f64, Wilder};
use super::Indicator;
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// Wilder's relative strength index (TA-Lib `RSI`, default compatibility).
///
/// Average gain and loss are seeded with the plain mean of the first
/// `period` changes, then smoothed as `(avg * (period - 1) + change) /
/// period`; the output is `100 * gain / (gain + loss)`, and `0.0` when
/// `gain + loss` is exactly 0 (a flat series reads 0, as in TA-Lib 0.6 and
/// 0.8). Lookback `period`; `period >= 2` (TA-Lib's range; a
/// one-bar RSI could only read 0 or 100). Leading NaNs are skipped like the
/// TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    /// Wilder's step (one multiply-add), for the average gain and loss.
    wilder: Wilder,
    count: usize,
    prev: f64,
    gain: f64,
    loss: f64,
    value: f64,
}

/// A change as `(gain, loss)`: `(change, 0)` or `(0, -change)`, as selects.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn split(change: f64) -> (f64, f64) {
    let down = change < 0.0;
    (if down { 0.0 } else { change }, if down { -change } else { 0.0 })
}

/// TA-Lib's `if change < 0 { loss -= change } else { gain += change }`.
#[inline]
fn accumulate(gain: &mut f64, loss: &mut f64, change: f64) {
    let down = change < 0.0;
    *gain += if down { 0.0 } else { change };
    *loss -= if down { change } else { 0.0 };
}

/// `100 * gain / (gain + loss)`; 0 when both are exactly 0 (a flat series).
/// TA-Lib 0.6 also read 0 below its absolute `1e-14`, which turned the
/// tiny but exact gains of a low-priced series into 0; TA-Lib 0.8 dropped
/// that, and so do we (the exact value is 100 there).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn rsi_value(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if total == 0.0 {
        0.0
    } else {
        100.0 * (gain / total)
    }
}

impl Rsi {
    /// An RSI over `period >= 2` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 2)?;
        Ok(Self { period, wilder: Wilder::new(period), count: 0, prev: 0.0, gain: 0.0, loss: 0.0, value: f64::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Rsi {
    type Input = f64;
    type Output = f64;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, x: f64) -> f64 {
        if self.count == 0 && x.is_nan() {
            return f64::NAN;
        }
        self.count += 1;
        let change = x - self.prev;
        self.prev = x;
        if self.count == 1 {
            return f64::NAN;
        }
        let divisor = to_f64(self.period);
        if self.count <= self.period {
            accumulate(&mut self.gain, &mut self.loss, change);
            return f64::NAN;
        }
        if self.count == self.period + 1 {
            accumulate(&mut self.gain, &mut self.loss, change);
            self.loss /= divisor;
            self.gain /= divisor;
        } else {
            let (up, down) = split(change);
            self.gain = self.wilder.step(self.gain, up);
            self.loss = self.wilder.step(self.loss, down);
        }
        self.value = rsi_value(self.gain, self.loss);
        self.value
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.count > self.period
    }

    fn reset(&mut self) {
        self.count = 0;
        self.prev = 0.0;
        self.gain = 0.0;
        self.loss = 0.0;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period
    }
}

/// Batch RSI: one output per input, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
pub fn rsi(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    rsi_with::<Dispatched>(x, period)
}

/// [`rsi`] in the build `B` (tests run the plain one beside it).
fn rsi_with<B: Build>(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    check_period("period", period, 2)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    let mut out = Vec::with_capacity(n);
    if n - begin <= period {
        out.resize(n, f64::NAN);
        return Ok(out);
    }
    // Written once (no zero-fill first), in one pass after the seed.
    out.resize(begin + period, f64::NAN);
    let (gain, loss) = seed(&x[begin..], period);
    out.push(rsi_value(gain, loss));
    let w = Wilder::new(period);
    B::run(
        #[inline(always)]
        || out.extend(values(w, gain, loss, &x[begin + period..])),
    );
    Ok(out)
}

/// [`rsi`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`rsi`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn rsi_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    check_period("period", period, 2)?;
    let n = x.len();
    check_out(n, &[("out", out.len())])?;
    let begin = first_valid(n, &[x]);
    if n - begin <= period {
        out.fill(f64::NAN);
        return Ok(());
    }
    let (head, tail) = out.split_at_mut(begin + period);
    head.fill(f64::NAN);
    let (gain, loss) = seed(&x[begin..], period);
    tail[0] = rsi_value(gain, loss);
    let w = Wilder::new(period);
    Dispatched::run(
        #[inline(always)]
        || {
            for (o, v) in tail[1..].iter_mut().zip(values(w, gain, loss, &x[begin + period..])) {
                *o = v;
            }
        },
    );
    Ok(())
}

/// The average gain and loss of the first `period` changes of `x` (from
/// the first valid bar), accumulated in TA-Lib's order.
fn seed(x: &[f64], period: usize) -> (f64, f64) {
    let divisor = to_f64(period);
    let (mut gain, mut loss) = (0.0, 0.0);
    for w in x[..=period].windows(2) {
        accumulate(&mut gain, &mut loss, w[1] - w[0]);
    }
    (gain / divisor, loss / divisor)
}

/// The RSI of each bar after the seed: `x` starts at the seed's last bar.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn values(w: Wilder, gain: f64, loss: f64, x: &[f64]) -> impl Iterator<Item = f64> + '_ {
    let (mut gain, mut loss) = (gain, loss);
    x.iter().zip(&x[1..]).map(move |(&before, &now)| {
        let (up, down) = split(now - before);
        gain = w.step(gain, up);
        loss = w.step(loss, down);
        rsi_value(gain, loss)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsi_on_a_small_hand_computed_series() {
        // period 2; changes: +1, -2, +3, +1.
        // seed: gain = 1/2, loss = 2/2 -> 100 * 0.5 / 1.5 = 33.33...
        // next: gain = (0.5 + 3) / 2 = 1.75, loss = 1 / 2 = 0.5 -> 77.77...
        // next: gain = (1.75 + 1) / 2 = 1.375, loss = 0.25 -> 84.61...
        let out = rsi(&[10.0, 11.0, 9.0, 12.0, 13.0], 2).unwrap();
        assert!(out[0].is_nan() && out[1].is_nan());
        assert!((out[2] - 100.0 / 3.0).abs() < 1e-12);
        assert!((out[3] - 700.0 / 9.0).abs() < 1e-12);
        assert!((out[4] - 100.0 * 1.375 / 1.625).abs() < 1e-12);
    }

    #[test]
    fn the_plain_build_gives_the_bits_of_the_dispatched_one_and_the_stream() {
        // On a CPU with AVX2 and FMA, `rsi` runs the FMA instruction and
        // `Plain` the C library's `fma`: both round once, so the bits agree.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut x = vec![f64::NAN, f64::NAN];
        let mut price = 40_000.0;
        for _ in 0..10_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            price += (f64::from((state >> 33) as u32) / f64::from(u32::MAX) - 0.5) * 50.0;
            x.push(price);
        }
        for period in [2, 14, 30] {
            let fast = rsi(&x, period).unwrap();
            let slow = rsi_with::<crate::simd::Plain>(&x, period).unwrap();
            let mut into = vec![0.0; x.len()];
            rsi_into(&x, period, &mut into).unwrap();
            let mut r = Rsi::new(period).unwrap();
            let streamed: Vec<f64> = x.iter().map(|&v| r.update(v)).collect();
            assert!(fast[2 + period..].iter().all(|v| v.is_finite()));
            for other in [&slow, &into, &streamed] {
                assert!(fast
                    .iter()
                    .zip(other.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()));
            }
        }
    }

    #[test]
    fn rsi_of_a_flat_series_is_zero_as_in_talib() {
        let out = rsi(&[5.0; 6], 3).unwrap();
        assert_eq!(&out[3..], &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn streaming_rsi_matches_batch_and_reports_lookback() {
        let x = [10.0, 11.0, 9.0, 12.0, 13.0, 12.5, 12.0];
        let batch = rsi(&x, 2).unwrap();
        let mut r = Rsi::new(2).unwrap();
        assert_eq!(r.lookback(), 2);
        for (&v, &b) in x.iter().zip(&batch) {
            let s = r.update(v);
            assert!(s.to_bits() == b.to_bits() || (s.is_nan() && b.is_nan()));
        }
        assert!(r.is_ready());
        r.reset();
        assert!(!r.is_ready());
        assert!(Rsi::new(1).is_err());
    }
}
