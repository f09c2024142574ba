//! Simple moving average, TA-Lib `SMA`.
use super::compat::{to_f64, window_column};
use super::quotient::Divisor;
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// Outputs between two restarts of the running sum for windows of
/// `period`: at least [`EVERY`] (a restart costs `period - 1` additions)
/// and at least twice the period.
fn restart_every(period: usize) -> usize {
    period.saturating_mul(2).max(EVERY)
}

/// The restart interval of every period up to 516. Not a multiple of 512:
/// the batch kernel's lanes, one segment apart, then fall in different L1
/// sets (segments 8 KB apart put all of them in one set, and a kernel of
/// eight lanes ran 20 % slower).
const EVERY: usize = 1032;

/// Simple moving average of the last `period` values (TA-Lib `SMA`).
///
/// TA-Lib's running total (add the new value, yield `total / period`,
/// subtract the value leaving the window), restarted every
/// [`restart_every`] outputs from a fresh sum of the window: the rounding
/// cannot drift over the series (TA-Lib's total carries every rounding
/// since the first bar), and the batch kernel runs several segments
/// between restarts side by side. Up to the first restart the values are
/// TA-Lib's, bit for bit. A window holding a NaN, or both infinities, is
/// NaN; one holding one sign of infinity is that infinity; once they have
/// left, the mean of the finite values is back (TA-Lib's total keeps a NaN
/// for good; the exact mean wins). Batch and streaming run the same
/// operations, bit for bit. Lookback `period - 1`. `period == 1` returns
/// the input unchanged (TA-Lib 0.6 rejects 1; this is its `MA` with period
/// 1). Leading NaNs are skipped like the TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    divisor: f64,
    every: usize,
    /// The last `period - 1` values.
    window: Window<f64>,
    /// Values seen since the first that was not NaN.
    count: usize,
    /// Outputs until the next restart (0: restart before the next one).
    until_restart: usize,
    sum: WindowSum,
    value: f64,
}

impl Sma {
    /// An SMA over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self {
            period,
            divisor: to_f64(period),
            every: restart_every(period),
            window: Window::new(period - 1),
            count: 0,
            until_restart: 0,
            sum: WindowSum::default(),
            value: f64::NAN,
        })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Sma {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> f64 {
        if self.count == 0 && x.is_nan() {
            return f64::NAN;
        }
        self.count += 1;
        if self.period == 1 {
            self.value = x;
            return x;
        }
        if self.count < self.period {
            self.window.push(x);
            return f64::NAN;
        }
        if self.until_restart == 0 {
            self.until_restart = self.every;
            self.sum = WindowSum::default();
            for v in self.window.iter() {
                self.sum.add(v);
            }
        }
        self.until_restart -= 1;
        self.sum.add(x);
        self.value = self.sum.mean(self.divisor);
        if let Some(old) = self.window.push(x) {
            self.sum.remove(old);
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
        self.window.clear();
        self.count = 0;
        self.until_restart = 0;
        self.sum = WindowSum::default();
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// The running total of a window's finite values and the count of each
/// kind of non-finite value in it: the mean of a window is then its exact
/// reading (NaN with a NaN or both infinities in it, an infinity with one
/// sign of it), and a window the non-finite values have left is a number
/// again. On finite values it is the plain running total, operation for
/// operation.
#[derive(Debug, Clone, Copy, Default)]
struct WindowSum {
    total: f64,
    nan: usize,
    up: usize,
    down: usize,
}

impl WindowSum {
    #[inline]
    fn add(&mut self, x: f64) {
        if x.is_finite() {
            self.total += x;
        } else if x.is_nan() {
            self.nan += 1;
        } else if x > 0.0 {
            self.up += 1;
        } else {
            self.down += 1;
        }
    }

    #[inline]
    fn remove(&mut self, x: f64) {
        if x.is_finite() {
            self.total -= x;
        } else if x.is_nan() {
            self.nan -= 1;
        } else if x > 0.0 {
            self.up -= 1;
        } else {
            self.down -= 1;
        }
    }

    #[inline]
    fn mean(&self, divisor: f64) -> f64 {
        if self.nan > 0 || (self.up > 0 && self.down > 0) {
            f64::NAN
        } else if self.up > 0 {
            f64::INFINITY
        } else if self.down > 0 {
            f64::NEG_INFINITY
        } else {
            self.total / divisor
        }
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
    sma_with::<Dispatched>(x, period)
}

/// [`sma`] in the build `B` (tests run the plain one beside it).
fn sma_with<B: Build>(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    let mut out = vec![0.0; x.len()];
    sma_into_with::<B>(x, period, &mut out)?;
    Ok(out)
}

/// [`sma`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`sma`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn sma_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    sma_into_with::<Dispatched>(x, period, out)
}

fn sma_into_with<B: Build>(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    if let Some((xs, tail)) = window_column(x, period, out)? {
        B::run(
            #[inline(always)]
            || window_means(xs, period, tail),
        );
    }
    Ok(())
}

/// Lanes of the batch kernel: segments between restarts summed side by
/// side (independent chains of additions).
const LANES: usize = 4;

/// The mean of every window of `period >= 2` values of `xs` into `out`
/// (`out.len() == xs.len() + 1 - period`), in segments of
/// [`restart_every`] outputs: [`LANES`] segments at a time, their running
/// totals side by side, the divisions after them in vectorised passes
/// ([`Divisor::divide`]: the division's bits without its cost, two cycles
/// a value, which was half of this kernel's time); the last segments one
/// at a time. Segments with a sum the fast division is not exact for (a
/// NaN or an infinity in their windows, an overflow, a tiny sum) are
/// redone by [`exact_segment`], which gives the same bits on finite
/// values.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn window_means(xs: &[f64], period: usize, out: &mut [f64]) {
    let every = restart_every(period);
    let divisor = to_f64(period);
    let group = LANES * every;
    let mut start = 0;
    while start + group <= out.len() {
        let outs = &mut out[start..start + group];
        let xs_group = &xs[start..start + group + period - 1];
        let exact = if every == EVERY {
            lane_means_by::<EVERY>(xs_group, period - 1, Divisor::new(divisor), outs)
        } else {
            lane_sums(xs_group, period, every, outs);
            divide(outs, Divisor::new(divisor))
        };
        if !exact {
            for (l, seg) in outs.chunks_mut(every).enumerate() {
                let a = start + l * every;
                exact_segment(&xs[a..a + every + period - 1], divisor, seg);
            }
        }
        start += group;
    }
    for seg in out[start..].chunks_mut(every) {
        let xs_seg = &xs[start..start + seg.len() + period - 1];
        if !segment_means(xs_seg, Divisor::new(divisor), seg) {
            exact_segment(xs_seg, divisor, seg);
        }
        start += seg.len();
    }
}

/// One segment's means, one lane: the running total, then [`divide`]
/// (`xs.len() == out.len() + period - 1`); whether they are exact, as
/// [`divide`].
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn segment_means(xs: &[f64], d: Divisor, out: &mut [f64]) -> bool {
    let held = xs.len() - out.len();
    let mut total = 0.0;
    for &v in &xs[..held] {
        total += v;
    }
    for ((o, &new), &old) in out.iter_mut().zip(&xs[held..]).zip(xs) {
        let sum = total + new;
        *o = sum;
        total = sum - old;
    }
    divide(out, d)
}

/// The window sums of [`LANES`] segments of `every` outputs each, side by
/// side (`out.len() == LANES * every`, `xs.len() == out.len() + period - 1`):
/// per segment a fresh sum of its first `period - 1` values, then TA-Lib's
/// running total (add the new value, store, subtract the oldest).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn lane_sums(xs: &[f64], period: usize, every: usize, out: &mut [f64]) {
    let held = period - 1;
    let inputs: [&[f64]; LANES] = std::array::from_fn(|l| &xs[l * every..(l + 1) * every + held]);
    let mut totals = [0.0; LANES];
    for i in 0..held {
        for (t, input) in totals.iter_mut().zip(&inputs) {
            *t += input[i];
        }
    }
    let news: [&[f64]; LANES] = std::array::from_fn(|l| &inputs[l][held..]);
    let olds: [&[f64]; LANES] = std::array::from_fn(|l| &inputs[l][..every]);
    let mut chunks = out.chunks_exact_mut(every);
    let lanes: [&mut [f64]; LANES] = std::array::from_fn(|_| chunks.next().unwrap_or_default());
    for j in 0..every {
        for l in 0..LANES {
            let t = totals[l] + news[l][j];
            lanes[l][j] = t;
            totals[l] = t - olds[l][j];
        }
    }
}

/// Outputs of each lane summed before they are divided (the block of every
/// lane, 8 KB, stays in L1 between the two).
const BLOCK: usize = 128;

/// [`lane_sums`] and [`divide`] for segments of `E` outputs, a constant:
/// every lane is one index and a constant offset (no register per lane and
/// stream), so the [`LANES`] chains of additions run side by side; the
/// divisions follow each block of [`BLOCK`] outputs a lane. Whether every
/// sum was one [`Divisor::divide`] is exact for (see [`divide`]).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn lane_means_by<const E: usize>(xs: &[f64], held: usize, d: Divisor, out: &mut [f64]) -> bool {
    let out = &mut out[..LANES * E];
    let news = &xs[held..held + LANES * E];
    let olds = &xs[..LANES * E];
    let mut totals = [0.0; LANES];
    for i in 0..held {
        for (l, t) in totals.iter_mut().enumerate() {
            *t += olds[l * E + i];
        }
    }
    let mut exact = true;
    let mut j0 = 0;
    while j0 < E {
        let j1 = (j0 + BLOCK).min(E);
        for j in j0..j1 {
            for (l, t) in totals.iter_mut().enumerate() {
                let sum = *t + news[l * E + j];
                out[l * E + j] = sum;
                *t = sum - olds[l * E + j];
            }
        }
        for l in 0..LANES {
            exact &= divide(&mut out[l * E + j0..l * E + j1], d);
        }
        j0 = j1;
    }
    exact
}

/// Divides every sum in place by [`Divisor::divide`] (the division's bits
/// by multiply-adds); whether every sum was one it is exact for, finite
/// (then every mean is too; no early exit: the loop vectorises).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn divide(out: &mut [f64], d: Divisor) -> bool {
    let mut exact = true;
    for o in out.iter_mut() {
        let sum = *o;
        *o = d.divide(sum);
        exact &= Divisor::exact_for(sum);
    }
    exact
}

/// One segment by [`WindowSum`], as the streaming form computes it
/// (`xs.len() == out.len() + period - 1`).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn exact_segment(xs: &[f64], divisor: f64, out: &mut [f64]) {
    let held = xs.len() - out.len();
    let mut sum = WindowSum::default();
    for &v in &xs[..held] {
        sum.add(v);
    }
    for ((o, &new), &old) in out.iter_mut().zip(&xs[held..]).zip(xs) {
        sum.add(new);
        *o = sum.mean(divisor);
        sum.remove(old);
    }
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
    use crate::indicators::testing::same;

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

    /// A random walk in whole cents around 40,000 (BTC-like prices), from a
    /// fixed seed: the cents are integers, so window sums are exact in i64.
    fn cents(n: usize, seed: u64) -> Vec<i64> {
        let mut state = seed;
        let mut price: i64 = 4_000_000;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                price += i64::try_from(state >> 53).unwrap_or(0) - 1_024;
                price
            })
            .collect()
    }

    fn streamed(x: &[f64], period: usize) -> Vec<f64> {
        let mut s = Sma::new(period).unwrap();
        x.iter().map(|&v| s.update(v)).collect()
    }

    #[test]
    fn restarted_sums_stay_exact_against_integer_sums() {
        // 200,000 bars: 48 restarts of period 20's running sum; the exact
        // mean of each window from the integer sum of its cents.
        let c = cents(200_000, 42);
        let x: Vec<f64> = c.iter().map(|&v| v as f64 / 100.0).collect();
        for period in [2, 20, 200, 5_000] {
            let out = sma(&x, period).unwrap();
            let mut worst = 0.0f64;
            let mut sum: i64 = c[..period - 1].iter().sum();
            for i in period - 1..x.len() {
                sum += c[i];
                let exact = sum as f64 / 100.0 / period as f64;
                worst = worst.max((out[i] - exact).abs());
                sum -= c[i + 1 - period];
            }
            // within float64 rounding of the price (scale 4e4): 1e-12 of it
            assert!(worst <= 1e-12 * 4e4, "period {period}: {worst}");
        }
    }

    #[test]
    fn the_plain_build_into_and_the_stream_give_the_bits_of_the_batch() {
        let mut x: Vec<f64> = cents(30_000, 9).iter().map(|&v| v as f64 / 100.0).collect();
        // non-finite values in some segments, none in others
        x[0] = f64::NAN;
        x[1_500] = f64::NAN;
        x[9_000] = f64::INFINITY;
        x[9_010] = f64::NEG_INFINITY;
        x[20_000] = f64::INFINITY;
        x[29_990] = 1e308;
        x[29_991] = 1e308;
        for period in [1, 2, 3, 30, 700, 1_500, 29_000, 40_000] {
            let batch = sma(&x, period).unwrap();
            let plain = sma_with::<crate::simd::Plain>(&x, period).unwrap();
            let mut into = vec![0.0; x.len()];
            sma_into(&x, period, &mut into).unwrap();
            let stream = streamed(&x, period);
            for (name, other) in [("plain", &plain), ("into", &into), ("streamed", &stream)] {
                assert!(same(&batch, other), "period {period}, {name}");
            }
        }
    }

    #[test]
    fn a_window_reads_its_non_finite_values_and_recovers_after_them() {
        let nan = f64::NAN;
        let (inf, ninf) = (f64::INFINITY, f64::NEG_INFINITY);
        let x = [1.0, 3.0, nan, 5.0, 7.0, inf, 9.0, ninf, 11.0, 13.0, 15.0];
        let want = [nan, 2.0, nan, nan, 6.0, inf, inf, ninf, ninf, 12.0, 14.0];
        assert!(same(&sma(&x, 2).unwrap(), &want));
        assert!(same(&streamed(&x, 2), &want));
        // both infinities in one window: NaN (TA-Lib's total kept the first
        // NaN for good)
        let y = [1.0, inf, ninf, 2.0, 4.0, 6.0];
        let want = [nan, nan, nan, nan, ninf, 4.0];
        assert!(same(&sma(&y, 3).unwrap(), &want));
        assert!(same(&streamed(&y, 3), &want));
    }
}
