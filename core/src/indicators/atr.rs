//! Average true range, TA-Lib `ATR` (Wilder smoothing).
use super::compat::{check_out, first_valid, same_len, smooth_in_place, to_f64, true_range, SmoothState, Smoother};
use super::{Hlc, Indicator};
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// Wilder's average true range (TA-Lib `ATR`).
///
/// The first bar only provides a previous close; the first ATR is the mean
/// of the next `period` true ranges, then `(atr * (period - 1) + tr) /
/// period`, computed with multiply-adds `fma(atr, (period - 1) / period,
/// tr / period)` advanced in blocks of four bars (see `Smoother`).
/// Lookback `period`; `period == 1` gives the plain true range
/// (TA-Lib `TRANGE`). Leading bars with a NaN field are skipped like the
/// TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    /// Wilder's step in blocks of four bars (one multiply-add on the chain
    /// every four bars).
    smoother: Smoother,
    smoothed: SmoothState,
    count: usize,
    prev_close: f64,
    total: f64,
    value: f64,
}

impl Atr {
    /// An ATR over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self {
            period,
            smoother: Smoother::wilder(period),
            smoothed: SmoothState::new(f64::NAN),
            count: 0,
            prev_close: 0.0,
            total: 0.0,
            value: f64::NAN,
        })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Atr {
    type Input = Hlc;
    type Output = f64;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, bar: Hlc) -> f64 {
        if self.count == 0 && (bar.high.is_nan() || bar.low.is_nan() || bar.close.is_nan()) {
            return f64::NAN;
        }
        self.count += 1;
        let tr = true_range(bar.high, bar.low, self.prev_close);
        self.prev_close = bar.close;
        let n = self.count;
        if n == 1 {
            return f64::NAN;
        }
        if self.period == 1 {
            self.value = tr;
        } else if n <= self.period {
            self.total += tr;
        } else if n == self.period + 1 {
            self.total += tr;
            self.value = self.total / to_f64(self.period);
            self.smoothed = SmoothState::new(self.value);
        } else {
            self.value = self.smoothed.step(&self.smoother, tr);
        }
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
        self.prev_close = 0.0;
        self.total = 0.0;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period
    }
}

/// Batch ATR: one output per bar, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    atr_with::<Dispatched>(high, low, close, period)
}

/// [`atr`] in the build `B` (tests run the plain one beside it).
fn atr_with<B: Build>(high: &[f64], low: &[f64], close: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    let n = same_len(&[("high", high), ("low", low), ("close", close)])?;
    check_period("period", period, 1)?;
    let begin = first_valid(n, &[high, low, close]);
    let mut out = Vec::with_capacity(n);
    if n - begin <= period {
        out.resize(n, f64::NAN);
        return Ok(out);
    }
    // Written once, strip by strip (no zero-fill first): the true ranges of
    // a strip (a pass that vectorises), then their smoothing while the strip
    // is still in cache.
    out.resize(begin + 1, f64::NAN);
    let (high, low, close) = (&high[begin..], &low[begin..], &close[begin..]);
    B::run(
        #[inline(always)]
        || {
            let mut done = 1;
            let mut y = f64::NAN;
            while done < high.len() {
                let end = strip_end(done, period, high.len());
                let start = out.len();
                out.extend(true_ranges(&high[done..end], &low[done..end], &close[done - 1..end - 1]));
                y = smooth_strip(&mut out[begin..], start - begin, period, y);
                done = end;
            }
        },
    );
    Ok(out)
}

/// [`atr`] written into `out` (same length as the inputs).
///
/// # Errors
/// As [`atr`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn atr_into(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    let n = same_len(&[("high", high), ("low", low), ("close", close)])?;
    check_period("period", period, 1)?;
    check_out(n, &[("out", out.len())])?;
    let begin = first_valid(n, &[high, low, close]);
    if n - begin <= period {
        out.fill(f64::NAN);
        return Ok(());
    }
    out[..=begin].fill(f64::NAN);
    let (high, low, close) = (&high[begin..], &low[begin..], &close[begin..]);
    let out = &mut out[begin..];
    Dispatched::run(
        #[inline(always)]
        || {
            let mut done = 1;
            let mut y = f64::NAN;
            while done < high.len() {
                let end = strip_end(done, period, high.len());
                let trs = true_ranges(&high[done..end], &low[done..end], &close[done - 1..end - 1]);
                for (o, tr) in out[done..end].iter_mut().zip(trs) {
                    *o = tr;
                }
                y = smooth_strip(&mut out[..end], done, period, y);
                done = end;
            }
        },
    );
    Ok(())
}

/// Bars per strip: the first strip ends with the seed (bar `period`), the
/// others are multiples of 4 long, so the smoothing's blocks of four stay
/// where the streaming form has them.
const STRIP: usize = 64;

#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn strip_end(done: usize, period: usize, len: usize) -> usize {
    if done <= period {
        (period + 1).min(len)
    } else {
        (done + STRIP).min(len)
    }
}

/// The bars of `out` from `start` on hold true ranges (bar 0 is the first
/// valid bar): replaces them by the ATR (NaN through the warm-up, the seed
/// at bar `period`), continuing from the ATR `y` of the bar before `start`;
/// returns the smoothing's anchor for the next strip.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn smooth_strip(out: &mut [f64], start: usize, period: usize, y: f64) -> f64 {
    if period == 1 {
        return y;
    }
    if start <= period {
        // The seed strip: bars 1..=period, the mean of their true ranges.
        let mut total = 0.0;
        for &tr in &out[1..=period] {
            total += tr;
        }
        out[..period].fill(f64::NAN);
        let seed = total / to_f64(period);
        out[period] = seed;
        return seed;
    }
    smooth_in_place(&Smoother::wilder(period), y, &mut out[start..])
}

/// The true range of each bar given the previous bar's close.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched build
fn true_ranges<'a>(high: &'a [f64], low: &'a [f64], prev_close: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
    high.iter().zip(low).zip(prev_close).map(|((&h, &l), &pc)| true_range(h, l, pc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(high: f64, low: f64, close: f64) -> Hlc {
        Hlc { high, low, close }
    }

    #[test]
    fn atr_seeds_with_the_mean_true_range_then_smooths() {
        // TRs from bar 1: max(11-9, |10-11|, |10-9|) = 2; max(12-10, 2, 0) = 2;
        // max(13-8, |11-13|, |11-8|) = 5. period 2: first ATR (2+2)/2 = 2,
        // then (2*1 + 5)/2 = 3.5.
        let h = [10.0, 11.0, 12.0, 13.0];
        let l = [9.0, 9.0, 10.0, 8.0];
        let c = [10.0, 10.0, 11.0, 9.0];
        let out = atr(&h, &l, &c, 2).unwrap();
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(&out[2..], &[2.0, 3.5]);
        let mut a = Atr::new(2).unwrap();
        let streamed: Vec<f64> = (0..4).map(|i| a.update(bar(h[i], l[i], c[i]))).collect();
        assert_eq!(&streamed[2..], &[2.0, 3.5]);
        assert_eq!(a.lookback(), 2);
        assert!(a.is_ready());
        a.reset();
        assert!(!a.is_ready());
    }

    /// A random walk of `n` bars (a fixed LCG), with NaN leading bars.
    fn walk(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            f64::from((state >> 33) as u32) / f64::from(u32::MAX)
        };
        let (mut h, mut l, mut c) = (vec![f64::NAN; 3], vec![f64::NAN; 3], vec![f64::NAN; 3]);
        let mut price = 40_000.0;
        for _ in 3..n {
            price += (next() - 0.5) * 50.0;
            h.push(price + next() * 30.0);
            l.push(price - next() * 30.0);
            c.push(price);
        }
        (h, l, c)
    }

    #[test]
    fn the_plain_build_gives_the_bits_of_the_dispatched_one_and_the_stream() {
        // On a CPU with AVX2 and FMA, `atr` runs the FMA instruction and
        // `Plain` the C library's `fma`: both round once, so the bits agree.
        let (h, l, c) = walk(10_000);
        for period in [1, 2, 14, 30] {
            let fast = atr(&h, &l, &c, period).unwrap();
            let slow = atr_with::<crate::simd::Plain>(&h, &l, &c, period).unwrap();
            let mut into = vec![0.0; h.len()];
            atr_into(&h, &l, &c, period, &mut into).unwrap();
            let mut a = Atr::new(period).unwrap();
            let streamed: Vec<f64> = (0..h.len()).map(|i| a.update(bar(h[i], l[i], c[i]))).collect();
            assert!(fast[3 + period..].iter().all(|v| v.is_finite()));
            for (name, other) in [("plain", &slow), ("into", &into), ("streamed", &streamed)] {
                let first = fast
                    .iter()
                    .zip(other.iter())
                    .position(|(x, y)| x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()));
                assert_eq!(first, None, "period {period}, {name}");
            }
        }
    }

    #[test]
    fn the_smoothing_is_one_rounding_of_wilders_step() {
        // (atr * 13 + tr) / 14 against the streamed value: each step is
        // within a few ulp of Wilder's formula.
        let mut a = Atr::new(14).unwrap();
        let mut y = f64::NAN;
        for i in 0..40 {
            let (h, l) = (100.0 + f64::from(i % 7), 95.0 - f64::from(i % 5));
            let tr = if i == 0 { f64::NAN } else { true_range(h, l, 97.0) };
            let v = a.update(bar(h, l, 97.0));
            if i == 14 {
                y = v;
            } else if i > 14 {
                y = (y * 13.0 + tr) / 14.0;
                assert!((v - y).abs() <= 8.0 * f64::EPSILON * y, "bar {i}: {v} against {y}");
                y = v;
            }
        }
    }

    #[test]
    fn atr_period_one_is_the_true_range() {
        let out = atr(&[10.0, 11.0, 12.0], &[9.0, 9.0, 10.0], &[10.0, 10.0, 11.0], 1).unwrap();
        assert!(out[0].is_nan());
        assert_eq!(&out[1..], &[2.0, 2.0]);
    }

    #[test]
    fn atr_rejects_mismatched_lengths() {
        assert!(atr(&[1.0], &[1.0, 2.0], &[1.0], 3).is_err());
    }
}
