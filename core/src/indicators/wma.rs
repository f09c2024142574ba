//! Linearly weighted moving average, TA-Lib `WMA`.
use super::compat::{to_f64, window_column};
use super::quotient::Divisor;
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// The weights' sum `period * (period + 1) / 2`, as TA-Lib's divider.
fn divider(period: usize) -> f64 {
    let p = period as u128;
    let d = p * (p + 1) / 2;
    #[allow(clippy::cast_precision_loss)]
    let d = d as f64;
    d
}

/// Weighted moving average, weights `1..=period` from oldest to newest
/// (TA-Lib `WMA`).
///
/// TA-Lib's O(1) recursion: `sum` holds the weighted total and `sub` the
/// plain total of the window; each bar outputs `(sum + period * x) /
/// divider`, then moves `sum` on by `period * x - sub`. The additions are
/// grouped so that each running total takes one addition a bar (`sub +=
/// x - trailing`, `sum += period * x - sub`), where TA-Lib's order
/// (`sub += x; sub -= trailing; sum += period * x; ...; sum -= sub`) chains
/// two. Both totals restart every [`restart_every`] outputs from fresh
/// sums of the window, as the SMA's does: the rounding cannot drift over
/// the series (TA-Lib's totals carry every rounding since the first bar),
/// and the batch kernel runs several segments between restarts side by
/// side. The same sums to float64 rounding (TA-Lib 0.8 within 1e-9 of the
/// scale on every real file). A NaN stays in the totals until the next
/// restart after it left the window (in TA-Lib's, for good). Batch and
/// streaming run the same operations, bit for bit. Lookback `period - 1`.
/// `period == 1` returns the input unchanged (TA-Lib 0.6 rejects 1).
/// Leading NaNs are skipped like the TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    weight: f64,
    divider: f64,
    every: usize,
    /// The last `period - 1` values.
    window: Window<f64>,
    count: usize,
    /// Outputs until the next restart (0: restart before the next one).
    until_restart: usize,
    sum: f64,
    sub: f64,
    trailing: f64,
    value: f64,
}

impl Wma {
    /// A WMA over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self {
            period,
            weight: to_f64(period),
            divider: divider(period),
            every: restart_every(period),
            window: Window::new(period - 1),
            count: 0,
            until_restart: 0,
            sum: 0.0,
            sub: 0.0,
            trailing: 0.0,
            value: f64::NAN,
        })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Wma {
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
            (self.sub, self.sum) = fresh_totals(self.window.iter());
            self.trailing = 0.0;
        }
        self.until_restart -= 1;
        let (weighted, sum);
        (self.sub, weighted, sum) = step(self.sub, self.sum, x, self.trailing, self.weight);
        self.sum = sum;
        self.trailing = self.window.push(x).unwrap_or(0.0);
        self.value = weighted / self.divider;
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
        self.sum = 0.0;
        self.sub = 0.0;
        self.trailing = 0.0;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// One bar of the recursion past the warm-up: the window's new plain total,
/// its weighted total with `x` (the output times the divider) and the
/// weighted total carried to the next bar.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn step(sub: f64, sum: f64, x: f64, trailing: f64, weight: f64) -> (f64, f64, f64) {
    let sub = sub + (x - trailing);
    let wx = x * weight;
    (sub, sum + wx, sum + (wx - sub))
}

/// Batch WMA: one output per input, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn wma(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    wma_with::<Dispatched>(x, period)
}

/// [`wma`] in the build `B` (tests run the plain one beside it).
fn wma_with<B: Build>(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    let mut out = vec![0.0; x.len()];
    wma_into_with::<B>(x, period, &mut out)?;
    Ok(out)
}

/// [`wma`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`wma`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn wma_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    wma_into_with::<Dispatched>(x, period, out)
}

/// Outputs between two restarts of the totals for windows of `period`: at
/// least [`EVERY`] (a restart costs `2 * (period - 1)` operations) and at
/// least twice the period.
fn restart_every(period: usize) -> usize {
    period.saturating_mul(2).max(EVERY)
}

/// The restart interval of every period up to 516 (not a multiple of 512,
/// as the SMA's: the lanes' streams in different L1 sets).
const EVERY: usize = 1032;

/// Lanes of the batch kernel: segments between restarts side by side
/// (independent chains; one chain runs a bar every four cycles at best,
/// the latency of an addition, which is about TA-Lib's time).
const LANES: usize = 4;

/// Outputs computed before their divisions are done in one pass (in L1).
const STRIP: usize = 128;

/// The plain and the weighted totals of the values before a segment's first
/// output (weights `1..`), as the stream's warm-up adds them.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn fresh_totals(held: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut sub, mut sum) = (0.0, 0.0);
    for (i, v) in held.enumerate() {
        sub += v;
        sum += v * to_f64(i + 1);
    }
    (sub, sum)
}

fn wma_into_with<B: Build>(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    let Some((xs, tail)) = window_column(x, period, out)? else {
        return Ok(());
    };
    let means = Means { period, weight: to_f64(period), divider: divider(period), div: Divisor::new(divider(period)) };
    B::run(
        #[inline(always)]
        || {
            let every = restart_every(period);
            let group = LANES * every;
            let mut start = 0;
            if every == EVERY {
                while start + group <= tail.len() {
                    let outs = &mut tail[start..start + group];
                    let xs_group = &xs[start..start + group + period - 1];
                    if !means.lanes_by::<EVERY>(xs_group, outs) {
                        for (l, seg) in outs.chunks_mut(every).enumerate() {
                            means.segment(&xs_group[l * every..(l + 1) * every + period - 1], seg);
                        }
                    }
                    start += group;
                }
            }
            for seg in tail[start..].chunks_mut(every) {
                means.segment(&xs[start..start + seg.len() + period - 1], seg);
                start += seg.len();
            }
        },
    );
    Ok(())
}

/// The batch kernel's constants.
#[derive(Clone, Copy)]
struct Means {
    period: usize,
    weight: f64,
    divider: f64,
    div: Divisor,
}

impl Means {
    /// One segment between restarts (`xs.len() == out.len() + period - 1`),
    /// in strips: the recursion, then the divisions by multiply-adds; a
    /// strip with a weighted total they are not exact for (NaN, an
    /// infinity, a tiny one) computed again and divided.
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernel
    fn segment(self, xs: &[f64], out: &mut [f64]) {
        let held = self.period - 1;
        let (sub, sum) = fresh_totals(xs[..held].iter().copied());
        let mut state = (sub, sum, 0.0);
        let news = &xs[held..];
        for (k, strip) in out.chunks_mut(STRIP).enumerate() {
            let at = k * STRIP;
            let (new, old) = (&news[at..at + strip.len()], &xs[at..at + strip.len()]);
            let before = state;
            state = weighted_totals(before, new, old, self.weight, strip);
            if !divide(strip, self.div) {
                weighted_totals(before, new, old, self.weight, strip);
                for o in strip.iter_mut() {
                    *o /= self.divider;
                }
            }
        }
    }

    /// [`LANES`] segments of `E` outputs side by side (`out.len() == LANES *
    /// E`, `xs.len() == out.len() + period - 1`), every lane one index and a
    /// constant offset, then the divisions in one pass (dividing after
    /// each strip, as [`Means::segment`] does, kept vector constants live
    /// across the chains' loop and spilled their state to the stack).
    /// Whether the divisions were exact for every weighted total (if not,
    /// the caller redoes the segments).
    #[inline(always)]
    #[allow(clippy::inline_always)] // compiled inside the dispatched kernel
    fn lanes_by<const E: usize>(self, xs: &[f64], out: &mut [f64]) -> bool {
        let held = self.period - 1;
        let out = &mut out[..LANES * E];
        let news = &xs[held..held + LANES * E];
        let olds = &xs[..LANES * E];
        let mut sub = [0.0; LANES];
        let mut sum = [0.0; LANES];
        for l in 0..LANES {
            (sub[l], sum[l]) = fresh_totals(olds[l * E..l * E + held].iter().copied());
        }
        // the first output of each segment (nothing left its window yet),
        // then the value leaving read where it is (not carried: the chains'
        // state stays in registers)
        for l in 0..LANES {
            let weighted;
            (sub[l], weighted, sum[l]) = step(sub[l], sum[l], news[l * E], 0.0, self.weight);
            out[l * E] = weighted;
        }
        for j in 1..E {
            for l in 0..LANES {
                let weighted;
                (sub[l], weighted, sum[l]) = step(sub[l], sum[l], news[l * E + j], olds[l * E + j - 1], self.weight);
                out[l * E + j] = weighted;
            }
        }
        divide(out, self.div)
    }
}

/// The recursion over one strip: the weighted totals (each output times
/// the divider) of the bars `new`, `old` the values leaving the window
/// (one bar late, as `trailing`), from the state `(sub, sum, trailing)`
/// before the strip; the state after it.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn weighted_totals(
    (mut sub, mut sum, mut trailing): (f64, f64, f64),
    new: &[f64],
    old: &[f64],
    weight: f64,
    out: &mut [f64],
) -> (f64, f64, f64) {
    for ((o, &v), &leaving) in out.iter_mut().zip(new).zip(old) {
        let weighted;
        (sub, weighted, sum) = step(sub, sum, v, trailing, weight);
        trailing = leaving;
        *o = weighted;
    }
    (sub, sum, trailing)
}

/// Divides every weighted total in place by [`Divisor::divide`] (the
/// division's bits by multiply-adds: a vectorised division costs two
/// cycles a value, as much as the chains); whether every quotient is the
/// division's ([`Divisor::exact_quotient`]; no early exit: the loop
/// vectorises).
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn divide(out: &mut [f64], d: Divisor) -> bool {
    let mut exact = true;
    for o in out.iter_mut() {
        *o = d.divide(*o);
        exact &= Divisor::exact_quotient(*o);
    }
    exact
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::same;

    #[test]
    fn wma_weights_newest_heaviest() {
        // (1*1 + 2*2 + 3*6) / 6 = 23/6; (1*2 + 2*6 + 3*3) / 6 = 23/6;
        // (1*6 + 2*3 + 3*0) / 6 = 2.
        let out = wma(&[1.0, 2.0, 6.0, 3.0, 0.0], 3).unwrap();
        assert!(out[1].is_nan());
        assert!((out[2] - 23.0 / 6.0).abs() < 1e-12);
        assert!((out[3] - 23.0 / 6.0).abs() < 1e-12);
        assert!((out[4] - 2.0).abs() < 1e-12);
    }

    /// Whole numbers from a fixed seed (every sum below 2^53 is exact).
    fn whole(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                f64::from(u32::try_from(state >> 44).unwrap_or(0))
            })
            .collect()
    }

    #[test]
    fn whole_numbers_give_the_exact_weighted_means() {
        // the sums are exact, so each output is the exact weighted total
        // (in integers) divided once: any slip of the window shows
        let x = whole(5_000, 7);
        for period in [2, 3, 20, 100, 1_500] {
            let out = wma(&x, period).unwrap();
            assert!(out[..period - 1].iter().all(|v| v.is_nan()));
            for t in period - 1..x.len() {
                let total: u128 = (0..period).map(|k| (k as u128 + 1) * (x[t + 1 - period + k] as u128)).sum();
                #[allow(clippy::cast_precision_loss)]
                let want = total as f64 / divider(period);
                assert_eq!(out[t].to_bits(), want.to_bits(), "period {period}, bar {t}");
            }
        }
    }

    #[test]
    fn the_plain_build_gives_the_bits_of_the_dispatched_one_and_the_stream() {
        let x: Vec<f64> = whole(10_000, 11).iter().map(|v| 100.0 + v * 1e-4).collect();
        for period in [1, 2, 20, 100, 2_000] {
            let batch = wma(&x, period).unwrap();
            assert!(same(&wma_with::<crate::simd::Plain>(&x, period).unwrap(), &batch), "period {period}");
            let mut w = Wma::new(period).unwrap();
            let streamed: Vec<f64> = x.iter().map(|&v| w.update(v)).collect();
            assert!(same(&streamed, &batch), "period {period}");
        }
    }

    #[test]
    fn a_nan_an_infinity_and_zeros_take_the_same_path_in_batch_and_stream() {
        // 12,000 bars: three lane groups and a tail; a NaN, an infinity and
        // a stretch of zeros (exact totals of +0, which the fast division
        // leaves to the division) in different segments
        let mut x: Vec<f64> = whole(12_000, 5).iter().map(|v| 100.0 + v * 1e-3).collect();
        x[3_000] = f64::NAN;
        x[7_000] = f64::INFINITY;
        x[9_250..9_400].fill(0.0);
        for period in [5, 30] {
            let batch = wma(&x, period).unwrap();
            assert!(same(&wma_with::<crate::simd::Plain>(&x, period).unwrap(), &batch), "period {period}");
            let mut w = Wma::new(period).unwrap();
            let streamed: Vec<f64> = x.iter().map(|&v| w.update(v)).collect();
            assert!(same(&streamed, &batch), "period {period}");
            // NaN from the bar on, until the first restart after it left the
            // window (restarts every 1,032 outputs, the first output at bar
            // period - 1), then numbers again
            let back = (period - 1) + 1_032 * ((3_000 + period - (period - 1)).div_ceil(1_032));
            assert!(batch[3_000..back].iter().all(|v| v.is_nan()), "period {period}");
            assert!(batch[back..7_000].iter().all(|v| v.is_finite()), "period {period}");
            // zeros: near zero within the running totals' rounding, and
            // exactly zero from the restart inside the stretch (bar 9,292 or
            // 9,317) on, where the totals are fresh sums of zeros
            let restart = (period - 1) + 1_032 * 9;
            assert!(batch[9_250 + period - 1..restart].iter().all(|&v| v.abs() < 1e-9), "period {period}");
            assert!(batch[restart..9_400].iter().all(|&v| v.to_bits() == 0), "period {period}");
        }
    }

    #[test]
    fn streaming_wma_equals_batch_and_resets() {
        let x = [1.0, 2.0, 6.0, 3.0, 0.0, 7.5];
        let batch = wma(&x, 3).unwrap();
        let mut w = Wma::new(3).unwrap();
        for (&v, &b) in x.iter().zip(&batch) {
            let s = w.update(v);
            assert!(s.to_bits() == b.to_bits() || (s.is_nan() && b.is_nan()));
        }
        assert_eq!(w.lookback(), 2);
        w.reset();
        assert!(!w.is_ready() && w.value().is_nan());
    }
}
