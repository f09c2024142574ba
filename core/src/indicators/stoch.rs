//! Slow stochastic oscillator, TA-Lib `STOCH` with SMA smoothing.
use super::compat::to_f64;
use super::compat::{check_out, fill2, first_valid, same_len};
use super::rolling_extreme::{channel_extremes, Rescan, RollingMax, RollingMin};
use super::sma::{sma_iter, SmaCore};
use super::{Hlc, Indicator};
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// Slow %K and %D of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochOutput {
    /// SMA of the raw (fast) %K.
    pub slowk: f64,
    /// SMA of the slow %K.
    pub slowd: f64,
}

impl StochOutput {
    const NAN: Self = Self { slowk: f64::NAN, slowd: f64::NAN };
}

/// The two columns of a batch computation.
pub type StochSeries = (Vec<f64>, Vec<f64>);

/// TA-Lib's fast %K: `(close - lowest) / ((highest - lowest) / 100)`, and
/// `0.0` when that range is exactly 0 (TA-Lib 0.6 tests `!= 0.0`).
/// Without a branch (both sides computed, one selected), so that the batch
/// pass vectorises.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn fast_k(close: f64, highest: f64, lowest: f64) -> f64 {
    let diff = (highest - lowest) / 100.0;
    let k = (close - lowest) / diff;
    if diff == 0.0 {
        0.0
    } else {
        k
    }
}

/// Slow stochastic (TA-Lib `STOCH`, both moving averages SMA).
///
/// Fast %K over `fastk` bars (highest high and lowest low as TA-Lib's
/// `MAX`/`MIN`), slow %K = SMA(`slowk`) of it, slow %D = SMA(`slowd`) of
/// slow %K; both outputs appear together after lookback
/// `(fastk - 1) + (slowk - 1) + (slowd - 1)`. Every period `>= 1` (a
/// smoothing period of 1 passes the line through, as TA-Lib's `MA`). TA-Lib's
/// defaults are 5, 3, 3. Leading bars with a NaN field are skipped like the
/// TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Stoch {
    fastk: usize,
    slowk: usize,
    slowd: usize,
    count: usize,
    high: RollingMax,
    low: RollingMin,
    k_ma: SmaCore,
    d_ma: SmaCore,
    value: StochOutput,
}

fn periods(fastk: usize, slowk: usize, slowd: usize) -> CoreResult<()> {
    check_period("fastk", fastk, 1)?;
    check_period("slowk", slowk, 1)?;
    check_period("slowd", slowd, 1)?;
    Ok(())
}

impl Stoch {
    /// A stochastic with the given periods (each `>= 1`).
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if a period is `< 1`.
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> CoreResult<Self> {
        periods(fastk, slowk, slowd)?;
        Ok(Self {
            fastk,
            slowk,
            slowd,
            count: 0,
            high: RollingMax::new(fastk),
            low: RollingMin::new(fastk),
            k_ma: SmaCore::new(slowk),
            d_ma: SmaCore::new(slowd),
            value: StochOutput::NAN,
        })
    }

    /// `(fastk, slowk, slowd)`.
    #[must_use]
    pub fn periods(&self) -> (usize, usize, usize) {
        (self.fastk, self.slowk, self.slowd)
    }
}

impl Indicator for Stoch {
    type Input = Hlc;
    type Output = StochOutput;

    fn update(&mut self, bar: Hlc) -> StochOutput {
        if self.count == 0 && (bar.high.is_nan() || bar.low.is_nan() || bar.close.is_nan()) {
            return StochOutput::NAN;
        }
        self.count += 1;
        let highest = self.high.update(bar.high);
        let lowest = self.low.update(bar.low);
        if self.count < self.fastk {
            return StochOutput::NAN;
        }
        let slowk = self.k_ma.update(fast_k(bar.close, highest, lowest));
        if self.count < self.fastk + self.slowk - 1 {
            return StochOutput::NAN;
        }
        let slowd = self.d_ma.update(slowk);
        if self.count <= self.lookback() {
            return StochOutput::NAN;
        }
        self.value = StochOutput { slowk, slowd };
        self.value
    }

    fn value(&self) -> StochOutput {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.count > self.lookback()
    }

    fn reset(&mut self) {
        self.count = 0;
        self.high.reset();
        self.low.reset();
        self.k_ma.reset();
        self.d_ma.reset();
        self.value = StochOutput::NAN;
    }

    fn lookback(&self) -> usize {
        (self.fastk - 1).saturating_add(self.slowk - 1).saturating_add(self.slowd - 1)
    }
}

/// Batch slow stochastic: `(slowk, slowd)`.
///
/// The streaming [`Stoch`]'s values bit for bit (but for the sign of a zero
/// where `+0.0` and `-0.0` tie as a window's extreme: the batch then has
/// TA-Lib 0.8's, the stream TA-Lib 0.6's). When neither `high` nor `low`
/// holds a NaN, one fused pass over strips of the columns, compiled for
/// AVX2 when the CPU has it (`simd::dispatch`): the windows' highest high
/// and lowest low as TA-Lib 0.8's `MAX`/`MIN` (van Herk / Gil-Werman
/// blocks, both columns at once), fast %K vectorised, then both SMAs in one
/// loop as TA-Lib's running totals (the same additions in the same order,
/// so TA-Lib's bits); otherwise TA-Lib's rescanning loops, whose treatment
/// of a NaN the stream replays.
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if a period is `< 1`.
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
) -> CoreResult<StochSeries> {
    stoch_with::<Dispatched>(high, low, close, [fastk, slowk, slowd])
}

/// [`stoch`] in the build `B` (tests run the plain one beside it).
fn stoch_with<B: Build>(high: &[f64], low: &[f64], close: &[f64], periods: [usize; 3]) -> CoreResult<StochSeries> {
    let n = close.len();
    let (mut k, mut d) = (vec![0.0; n], vec![0.0; n]);
    stoch_into_with::<B>(high, low, close, periods, [&mut k, &mut d])?;
    Ok((k, d))
}

/// [`stoch`] written into `[slowk, slowd]` (each as long as the inputs).
///
/// # Errors
/// As [`stoch`], and [`crate::error::CoreError::InvalidInput`] if an output
/// has another length.
#[allow(clippy::too_many_arguments)]
pub fn stoch_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowd: usize,
    out: [&mut [f64]; 2],
) -> CoreResult<()> {
    stoch_into_with::<Dispatched>(high, low, close, [fastk, slowk, slowd], out)
}

fn stoch_into_with<B: Build>(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    [fastk, slowk, slowd]: [usize; 3],
    out: [&mut [f64]; 2],
) -> CoreResult<()> {
    let n = same_len(&[("high", high), ("low", low), ("close", close)])?;
    periods(fastk, slowk, slowd)?;
    let [k_out, d_out] = out;
    check_out(n, &[("slowk", k_out.len()), ("slowd", d_out.len())])?;
    if n == 0 {
        return Ok(());
    }
    let begin = first_valid(n, &[high, low, close]);
    let lookback = (fastk - 1).saturating_add(slowk - 1).saturating_add(slowd - 1);
    let warm = begin.saturating_add(lookback);
    if warm >= n {
        fill2(k_out, d_out, warm, []);
        return Ok(());
    }
    let (high, low, close) = (&high[begin..], &low[begin..], &close[begin..]);
    let (k_rest, d_rest) = (&mut k_out[begin..], &mut d_out[begin..]);
    let fused = B::run(
        #[inline(always)]
        || fused(high, low, close, [fastk, slowk, slowd], k_rest, d_rest),
    );
    if !fused {
        rescanned(high, low, close, [fastk, slowk, slowd], k_rest, d_rest);
    }
    k_out[..warm].fill(f64::NAN);
    d_out[..warm].fill(f64::NAN);
    Ok(())
}

/// Fast %K windows a strip holds at least (rounded up to whole blocks of
/// `fastk`): its scratch stays in the L2 cache.
const STRIP: usize = 2_048;

/// The fused kernel over the columns from the first complete bar
/// (`close.len() >= fastk + slowk + slowd - 2`, the outputs as long):
/// slow %K and %D from bar `fastk - 1` on (the warm-up slots hold partial
/// values, overwritten by the caller). Strips of whole blocks of `fastk`
/// windows (so the blocks are TA-Lib 0.8's, from the first bar): the
/// strip's window extremes by [`channel_extremes`], fast %K from them in a
/// vectorised pass, then one loop running both totals (slow %K's feeds slow
/// %D's, whose divisions follow in a vectorised pass). The totals start
/// from 0 with zeros as the values before the first (adding and removing a
/// `+0.0` changes no bit), so the loop is the same from the first window
/// on, and the slow %K values of the warm-up enter slow %D's window as
/// zeros. Returns false, with the outputs partly written, as soon as a
/// strip of `high` or `low` holds a NaN.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn fused(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    [fastk, slowk, slowd]: [usize; 3],
    k_out: &mut [f64],
    d_out: &mut [f64],
) -> bool {
    let windows = close.len() + 1 - fastk;
    let strip = STRIP.div_ceil(fastk) * fastk;
    let (k_div, d_div) = (to_f64(slowk), to_f64(slowd));
    // the window extremes of a strip; fast %K with the last `slowk - 1`
    // before the strip's; slow %K with the last `slowd - 1` before its; the
    // slow %D totals
    let (mut upper, mut lower) = (vec![0.0; strip], vec![0.0; strip]);
    let mut fast = vec![0.0; slowk - 1 + strip];
    let mut slow = vec![0.0; slowd - 1 + strip];
    let mut sums = vec![0.0; strip];
    let (mut k_total, mut d_total) = (0.0, 0.0);
    let k_warm = slowk - 1;
    let mut first = 0;
    while first < windows {
        let len = strip.min(windows - first);
        let bars = first..first + len + fastk - 1;
        let (up, down) = (&mut upper[..len], &mut lower[..len]);
        if !channel_extremes(&high[bars.clone()], &low[bars], fastk, up, down) {
            return false;
        }
        let closes = &close[first + fastk - 1..first + fastk - 1 + len];
        for (((f, &c), &h), &l) in fast[slowk - 1..slowk - 1 + len].iter_mut().zip(closes).zip(&*up).zip(&*down) {
            *f = fast_k(c, h, l);
        }
        let outs = first + fastk - 1..first + fastk - 1 + len;
        let (ks, ds) = (&mut k_out[outs.clone()], &mut d_out[outs]);
        let skip = k_warm.saturating_sub(first).min(len);
        let state = (k_total, d_total);
        (k_total, d_total) = if slowk == 1 {
            totals::<true>(
                &fast[..slowk - 1 + len],
                &mut slow[..slowd - 1 + len],
                ks,
                &mut sums[..len],
                skip,
                k_div,
                state,
            )
        } else {
            totals::<false>(
                &fast[..slowk - 1 + len],
                &mut slow[..slowd - 1 + len],
                ks,
                &mut sums[..len],
                skip,
                k_div,
                state,
            )
        };
        if slowd == 1 {
            ds.copy_from_slice(&slow[..len]);
        } else {
            for (d, &s) in ds.iter_mut().zip(&sums[..len]) {
                *d = s / d_div;
            }
        }
        fast.copy_within(len..len + slowk - 1, 0);
        slow.copy_within(len..len + slowd - 1, 0);
        first += len;
    }
    true
}

/// One strip's running totals, TA-Lib's operation for operation: slow %K
/// (`UNIT_K`: its period is 1, the fast %K passes through) from `fast`
/// (the strip's fast %K after the `slowk - 1` before it) into `ks` and the
/// tail of `slow` (after the `slowd - 1` slow %K before the strip), the
/// first `skip` of them zeros (the warm-up); slow %D's totals into `sums`.
/// Returns the two totals after the strip.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn totals<const UNIT_K: bool>(
    fast: &[f64],
    slow: &mut [f64],
    ks: &mut [f64],
    sums: &mut [f64],
    skip: usize,
    k_div: f64,
    (mut k_total, mut d_total): (f64, f64),
) -> (f64, f64) {
    let len = ks.len();
    let (held_k, held_d) = (fast.len() - len, slow.len() - len);
    let (fast_new, fast_old) = (&fast[held_k..], &fast[..len]);
    for (i, ((k_out, sum_out), (&new, &old))) in
        ks.iter_mut().zip(&mut *sums).zip(fast_new.iter().zip(fast_old)).enumerate()
    {
        let sum = k_total + new;
        k_total = sum - old;
        let k = if UNIT_K { new } else { sum / k_div };
        // a slow %K of the warm-up enters slow %D's window as a zero
        let k = if i < skip { 0.0 } else { k };
        *k_out = k;
        slow[held_d + i] = k;
        let sum = d_total + k;
        d_total = sum - slow[i];
        *sum_out = sum;
    }
    (k_total, d_total)
}

/// TA-Lib's own loops (rescans for the window extremes, then the two SMAs),
/// for columns holding a NaN; same slots as [`fused`].
fn rescanned(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    [fastk, slowk, slowd]: [usize; 3],
    k_out: &mut [f64],
    d_out: &mut [f64],
) {
    // 1. Fast %K as TA-Lib computes it (rescanning lowest low and highest
    //    high), stored in the %D column, which is scratch until step 3.
    let base = fastk - 1;
    let (mut hi, mut lo) = (Rescan::<true>::new(), Rescan::<false>::new());
    let windows = high.windows(fastk).zip(low.windows(fastk)).zip(&close[fastk - 1..]);
    for (o, (oldest, ((wh, wl), &c))) in d_out[base..].iter_mut().zip(windows.enumerate()) {
        let lowest = lo.step(wl, oldest);
        let highest = hi.step(wh, oldest);
        *o = fast_k(c, highest, lowest);
    }
    // 2. Slow %K: SMA of fast %K.
    let k_start = base + slowk - 1;
    for (o, v) in k_out[k_start..].iter_mut().zip(sma_iter(&d_out[base..], slowk)) {
        *o = v;
    }
    // 3. Slow %D: SMA of slow %K, over the fast %K it no longer needs.
    let warm = k_start + slowd - 1;
    for (o, v) in d_out[warm..].iter_mut().zip(sma_iter(&k_out[k_start..], slowd)) {
        *o = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::{same, walk};

    fn hlc(high: f64, low: f64, close: f64) -> Hlc {
        Hlc { high, low, close }
    }

    #[test]
    fn fast_k_is_the_close_position_in_the_range() {
        assert_eq!(fast_k(15.0, 20.0, 10.0), 50.0);
        assert_eq!(fast_k(20.0, 20.0, 10.0), 100.0);
        assert_eq!(fast_k(7.0, 7.0, 7.0), 0.0);
    }

    #[test]
    fn stoch_smooths_fast_k_twice() {
        // fastk 2: windows (h, l) -> fast %K:
        // bar1: H 11, L 9, c 10 -> 50; bar2: H 12, L 9, c 12 -> 100;
        // bar3: H 12, L 8, c 8 -> 0; bar4: H 9, L 7, c 8.5 -> 75.
        // slowk 2: 75, 50, 37.5; slowd 2: 62.5, 43.75.
        let h = [10.0, 11.0, 12.0, 9.0, 9.0];
        let l = [9.0, 9.5, 10.0, 8.0, 7.0];
        let c = [9.5, 10.0, 12.0, 8.0, 8.5];
        let (k, d) = stoch(&h, &l, &c, 2, 2, 2).unwrap();
        assert!(k[2].is_nan() && d[2].is_nan());
        assert_eq!(&k[3..], &[50.0, 37.5]);
        assert_eq!(&d[3..], &[62.5, 43.75]);
        let mut s = Stoch::new(2, 2, 2).unwrap();
        assert_eq!(s.lookback(), 3);
        let streamed: Vec<StochOutput> = (0..5).map(|i| s.update(hlc(h[i], l[i], c[i]))).collect();
        assert_eq!(streamed[4], StochOutput { slowk: 37.5, slowd: 43.75 });
        assert!(streamed[2].slowk.is_nan());
        s.reset();
        assert!(!s.is_ready());
    }

    #[test]
    fn stoch_with_unit_periods_is_fast_k() {
        let (k, d) = stoch(&[2.0, 4.0], &[0.0, 2.0], &[1.0, 4.0], 1, 1, 1).unwrap();
        assert_eq!((k, d), (vec![50.0, 100.0], vec![50.0, 100.0]));
        assert!(Stoch::new(5, 0, 3).is_err());
    }

    /// Bars from three walks: high above low, close between them.
    fn bars(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (a, b, c) = (walk(n, seed, 0.25), walk(n, seed + 1, 0.25), walk(n, seed + 2, 0.25));
        let low: Vec<f64> = a.iter().zip(&b).map(|(&x, &y)| x.min(y)).collect();
        let high: Vec<f64> = a.iter().zip(&b).map(|(&x, &y)| x.max(y) + 0.5).collect();
        let close: Vec<f64> = c.iter().zip(low.iter().zip(&high)).map(|(&x, (&lo, &hi))| x.clamp(lo, hi)).collect();
        (high, low, close)
    }

    /// The reference from TA-Lib's documented steps, written out: every
    /// window scanned for its extremes, fast %K, then each SMA as TA-Lib's
    /// running total from 0 (add the first `period - 1`, then add, divide,
    /// remove the oldest); period 1 passes its input through.
    fn reference(h: &[f64], l: &[f64], c: &[f64], [fk, sk, sd]: [usize; 3]) -> (Vec<f64>, Vec<f64>) {
        fn sma(x: &[f64], p: usize) -> Vec<f64> {
            if p == 1 {
                return x.to_vec();
            }
            let mut total = 0.0;
            for &v in &x[..p - 1] {
                total += v;
            }
            (p - 1..x.len())
                .map(|i| {
                    total += x[i];
                    let mean = total / p as f64;
                    total -= x[i + 1 - p];
                    mean
                })
                .collect()
        }
        let fast: Vec<f64> = (fk - 1..c.len())
            .map(|i| {
                let w = i + 1 - fk..=i;
                let hi = h[w.clone()].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lo = l[w].iter().copied().fold(f64::INFINITY, f64::min);
                let diff = (hi - lo) / 100.0;
                if diff == 0.0 {
                    0.0
                } else {
                    (c[i] - lo) / diff
                }
            })
            .collect();
        let slow_k = sma(&fast, sk);
        let slow_d = sma(&slow_k, sd);
        let warm = fk + sk + sd - 3;
        let pad = |v: &[f64]| -> Vec<f64> {
            let mut out = vec![f64::NAN; warm];
            out.extend_from_slice(&v[v.len() + warm - c.len()..]);
            out
        };
        (pad(&slow_k), pad(&slow_d))
    }

    fn streamed(h: &[f64], l: &[f64], c: &[f64], [fk, sk, sd]: [usize; 3]) -> (Vec<f64>, Vec<f64>) {
        let mut s = Stoch::new(fk, sk, sd).unwrap();
        (0..c.len()).map(|i| s.update(hlc(h[i], l[i], c[i]))).map(|o| (o.slowk, o.slowd)).unzip()
    }

    /// Every periods' form against the reference, bit for bit: the
    /// dispatched and the plain build, `stoch_into`, and the stream.
    fn check_all(h: &[f64], l: &[f64], c: &[f64], periods: [usize; 3], reference_too: bool) {
        let (k, d) = stoch_with::<Dispatched>(h, l, c, periods).unwrap();
        if reference_too {
            let (rk, rd) = reference(h, l, c, periods);
            assert!(same(&k, &rk) && same(&d, &rd), "reference, {periods:?}");
        }
        let (pk, pd) = stoch_with::<crate::simd::Plain>(h, l, c, periods).unwrap();
        assert!(same(&k, &pk) && same(&d, &pd), "plain, {periods:?}");
        let (mut ik, mut id) = (vec![0.0; c.len()], vec![0.0; c.len()]);
        let [fk, sk, sd] = periods;
        stoch_into(h, l, c, fk, sk, sd, [&mut ik, &mut id]).unwrap();
        assert!(same(&k, &ik) && same(&d, &id), "into, {periods:?}");
        let (sk_, sd_) = streamed(h, l, c, periods);
        assert!(same(&k, &sk_) && same(&d, &sd_), "streamed, {periods:?}");
    }

    #[test]
    fn the_strips_give_the_reference_the_plain_build_and_the_stream() {
        // 9,000 bars: several strips of 2,048 windows (rounded up to whole
        // blocks of fastk), periods longer than a strip, unit periods
        let (h, l, c) = bars(9_000, 3);
        for periods in [
            [5, 3, 3],
            [14, 3, 3],
            [1, 1, 1],
            [21, 1, 5],
            [2, 2, 2],
            [3, 7, 1],
            [2_047, 2, 3],
            [2_049, 3, 2],
            [5, 2_500, 3],
            [5, 3, 2_600],
            [3_000, 3_000, 2_998],
            [4_000, 3_000, 2_002],
        ] {
            check_all(&h, &l, &c, periods, true);
        }
    }

    #[test]
    fn a_nan_in_high_or_low_takes_talibs_rescans_a_nan_in_close_the_strips() {
        let nan = f64::NAN;
        let (mut h, mut l, mut c) = bars(6_000, 8);
        // leading NaNs are skipped (the TA-Lib wrapper's rule)
        h[0] = nan;
        c[1] = nan;
        // a NaN in close: fast %K is NaN there, and TA-Lib's totals keep it
        c[5_000] = nan;
        for periods in [[5, 3, 3], [14, 3, 3], [1, 1, 1]] {
            check_all(&h, &l, &c, periods, false);
            let (k, d) = stoch(&h, &l, &c, periods[0], periods[1], periods[2]).unwrap();
            assert!(k[4_000].is_finite() && d[4_000].is_finite());
            assert!(k[5_500].is_nan() == (periods[1] > 1));
        }
        // a NaN in high (then in low): the rescans, which the stream replays
        h[3_000] = nan;
        check_all(&h, &l, &c, [5, 3, 3], false);
        l[4_500] = nan;
        check_all(&h, &l, &c, [14, 3, 3], false);
    }

    #[test]
    fn a_flat_range_reads_zero_and_short_series_read_nan() {
        // lookback 4 + 2 + 2
        let x = vec![42.5; 50];
        let (k, d) = stoch(&x, &x, &x, 5, 3, 3).unwrap();
        assert!(k[..8].iter().chain(&d[..8]).all(|v| v.is_nan()));
        assert!(k[8..].iter().chain(&d[8..]).all(|&v| v == 0.0));
        let (k, d) = stoch(&x[..8], &x[..8], &x[..8], 5, 3, 3).unwrap();
        assert!(k.iter().chain(&d).all(|v| v.is_nan()));
        let (k, d) = stoch(&x[..9], &x[..9], &x[..9], 5, 3, 3).unwrap();
        assert_eq!((k[8], d[8]), (0.0, 0.0));
    }
}
