//! Donchian channel: TA-Lib `MAX(high)` and `MIN(low)` over a window.
use super::compat::{check_out, first_valid, same_len};
use super::rolling_extreme::{channel_extremes, rescan, RollingMax, RollingMin};
use super::{HighLow, Indicator};
use crate::error::{check_period, CoreResult};
use crate::simd::{Build, Dispatched};

/// Upper and lower channel of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DonchianOutput {
    /// Highest high of the window (TA-Lib `MAX`).
    pub upper: f64,
    /// Lowest low of the window (TA-Lib `MIN`).
    pub lower: f64,
}

impl DonchianOutput {
    const NAN: Self = Self { upper: f64::NAN, lower: f64::NAN };
}

/// The two channel columns of a batch computation.
pub type DonchianSeries = (Vec<f64>, Vec<f64>);

/// Donchian channel: highest high and lowest low of the last `period` bars,
/// exactly TA-Lib's `MAX(high)` / `MIN(low)` (including how a NaN inside the
/// window is treated) in amortized O(1) per bar. Lookback `period - 1`;
/// `period >= 1` (TA-Lib's `MAX`/`MIN` require 2; a 1-bar channel is the bar
/// itself). Leading bars with a NaN field are skipped like the TA-Lib Python
/// wrapper does. The batch [`donchian`]'s bits on any input, but for the
/// sign of a zero extreme where `+0.0` and `-0.0` tie in a window without
/// NaN (TA-Lib 0.6's rescans here, TA-Lib 0.8's blocks in the batch).
#[derive(Debug, Clone)]
pub struct Donchian {
    period: usize,
    count: usize,
    high: RollingMax,
    low: RollingMin,
    value: DonchianOutput,
}

impl Donchian {
    /// A channel over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self {
            period,
            count: 0,
            high: RollingMax::new(period),
            low: RollingMin::new(period),
            value: DonchianOutput::NAN,
        })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Donchian {
    type Input = HighLow;
    type Output = DonchianOutput;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, bar: HighLow) -> DonchianOutput {
        if self.count == 0 && (bar.high.is_nan() || bar.low.is_nan()) {
            return DonchianOutput::NAN;
        }
        self.count += 1;
        let upper = self.high.update(bar.high);
        let lower = self.low.update(bar.low);
        if self.count >= self.period {
            self.value = DonchianOutput { upper, lower };
        }
        self.value
    }

    fn value(&self) -> DonchianOutput {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.count >= self.period
    }

    fn reset(&mut self) {
        self.count = 0;
        self.high.reset();
        self.low.reset();
        self.value = DonchianOutput::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// Batch Donchian channel: `(upper, lower)`.
///
/// When a column holds no NaN: TA-Lib 0.8's values bit for bit (the sign
/// of a zero extreme included), by vectorised doubling passes (or van Herk
/// / Gil-Werman blocks for long windows and columns with a `-0.0`),
/// compiled for AVX2 when the CPU has it (`simd::dispatch`);
/// otherwise TA-Lib's own rescanning loop, whose treatment of a NaN the
/// streaming deque replays. The streaming form gives the same bits but
/// for the sign of a zero extreme where `+0.0` and `-0.0` tie (it keeps
/// TA-Lib 0.6's rescans).
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn donchian(high: &[f64], low: &[f64], period: usize) -> CoreResult<DonchianSeries> {
    donchian_with::<Dispatched>(high, low, period)
}

/// [`donchian`] in the build `B` (tests run the plain one beside it).
fn donchian_with<B: Build>(high: &[f64], low: &[f64], period: usize) -> CoreResult<DonchianSeries> {
    let n = high.len();
    let (mut upper, mut lower) = (vec![0.0; n], vec![0.0; n]);
    donchian_into_with::<B>(high, low, period, [&mut upper, &mut lower])?;
    Ok((upper, lower))
}

/// [`donchian`] written into `[upper, lower]` (each as long as the inputs).
///
/// # Errors
/// As [`donchian`], and [`crate::error::CoreError::InvalidInput`] if an
/// output has another length.
pub fn donchian_into(high: &[f64], low: &[f64], period: usize, out: [&mut [f64]; 2]) -> CoreResult<()> {
    donchian_into_with::<Dispatched>(high, low, period, out)
}

fn donchian_into_with<B: Build>(high: &[f64], low: &[f64], period: usize, out: [&mut [f64]; 2]) -> CoreResult<()> {
    let n = same_len(&[("high", high), ("low", low)])?;
    check_period("period", period, 1)?;
    let [upper, lower] = out;
    check_out(n, &[("upper", upper.len()), ("lower", lower.len())])?;
    if n == 0 {
        return Ok(());
    }
    let begin = first_valid(n, &[high, low]);
    let warm = begin.saturating_add(period - 1).min(n);
    let (high, low) = (&high[begin..], &low[begin..]);
    upper[..warm].fill(f64::NAN);
    lower[..warm].fill(f64::NAN);
    if high.len() < period {
        upper[warm..].fill(f64::NAN);
        lower[warm..].fill(f64::NAN);
        return Ok(());
    }
    B::run(
        #[inline(always)]
        || {
            if !channel_extremes(high, low, period, &mut upper[warm..], &mut lower[warm..]) {
                column::<true>(high, period, &mut upper[warm..]);
                column::<false>(low, period, &mut lower[warm..]);
            }
        },
    );
    Ok(())
}

/// One column's window extremes (`out.len() == x.len() + 1 - period`)
/// when the pair held a NaN: TA-Lib 0.8's blocks if this column has none,
/// else TA-Lib's rescans, whose NaN handling the streaming form replays.
#[inline(always)]
#[allow(clippy::inline_always)] // compiled inside the dispatched kernel
fn column<const HIGHEST: bool>(x: &[f64], period: usize, out: &mut [f64]) {
    let mut other = vec![0.0; out.len()];
    let blocks = if HIGHEST {
        channel_extremes(x, x, period, out, &mut other)
    } else {
        channel_extremes(x, x, period, &mut other, out)
    };
    if !blocks {
        for (o, v) in out.iter_mut().zip(rescan::<HIGHEST>(x, period)) {
            *o = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::{same, walk};

    #[test]
    fn donchian_tracks_highest_high_and_lowest_low() {
        let h = [5.0, 7.0, 6.0, 4.0, 3.0];
        let l = [4.0, 5.0, 2.0, 3.0, 1.0];
        let (u, lo) = donchian(&h, &l, 3).unwrap();
        assert!(u[1].is_nan() && lo[1].is_nan());
        assert_eq!(&u[2..], &[7.0, 7.0, 6.0]);
        assert_eq!(&lo[2..], &[2.0, 2.0, 1.0]);
        let mut d = Donchian::new(3).unwrap();
        let streamed: Vec<DonchianOutput> =
            h.iter().zip(&l).map(|(&high, &low)| d.update(HighLow { high, low })).collect();
        assert_eq!(streamed[4], DonchianOutput { upper: 6.0, lower: 1.0 });
        assert_eq!(d.lookback(), 2);
        d.reset();
        assert!(!d.is_ready());
    }

    #[test]
    fn donchian_period_one_is_the_bar() {
        let (u, l) = donchian(&[2.0, 3.0], &[1.0, 0.5], 1).unwrap();
        assert_eq!((u, l), (vec![2.0, 3.0], vec![1.0, 0.5]));
        assert!(donchian(&[1.0], &[1.0], 0).is_err());
    }

    /// The naive reference: every window scanned.
    fn naive(x: &[f64], period: usize, highest: bool) -> Vec<f64> {
        (0..x.len())
            .map(|i| {
                if i + 1 < period {
                    return f64::NAN;
                }
                let w = &x[i + 1 - period..=i];
                w.iter().copied().fold(w[0], |a, b| if highest { a.max(b) } else { a.min(b) })
            })
            .collect()
    }

    fn streamed(h: &[f64], l: &[f64], period: usize) -> (Vec<f64>, Vec<f64>) {
        let mut d = Donchian::new(period).unwrap();
        h.iter().zip(l).map(|(&high, &low)| d.update(HighLow { high, low })).map(|o| (o.upper, o.lower)).unzip()
    }

    #[test]
    fn the_blocks_equal_the_naive_extremes_the_plain_build_and_the_stream() {
        let (h, l) = (walk(20_000, 7, 0.5), walk(20_000, 11, 0.5));
        for period in [1, 2, 3, 4, 20, 55, 64, 65, 200, 1_024, 19_999, 20_000, 20_001] {
            let (up, down) = donchian(&h, &l, period).unwrap();
            assert!(same(&up, &naive(&h, period, true)), "period {period}");
            assert!(same(&down, &naive(&l, period, false)), "period {period}");
            let (pu, pd) = donchian_with::<crate::simd::Plain>(&h, &l, period).unwrap();
            assert!(same(&up, &pu) && same(&down, &pd), "plain, period {period}");
            let (su, sd) = streamed(&h, &l, period);
            assert!(same(&up, &su) && same(&down, &sd), "streamed, period {period}");
        }
    }

    #[test]
    fn a_nan_in_one_column_sends_that_column_to_the_rescans() {
        let (mut h, l) = (walk(5_000, 3, 0.5), walk(5_000, 5, 0.5));
        h[2_500] = f64::NAN;
        for period in [2, 20, 300] {
            let (up, down) = donchian(&h, &l, period).unwrap();
            let (su, sd) = streamed(&h, &l, period);
            assert!(same(&up, &su) && same(&down, &sd), "period {period}");
            // the rescans skip a NaN unless a rescan starts on it
            assert!(up[2_500 + period].is_finite());
            assert!(same(&down, &naive(&l, period, false)));
        }
    }

    #[test]
    fn signed_zeros_read_as_talib_08_reads_them() {
        // TA-Lib 0.8.1's MAX (talib 0.8.2), recorded: which zero a window of
        // tied zeros returns depends on the blocks of `period` bars from the
        // first (van Herk / Gil-Werman), not on the window alone.
        let x = [0.0, -0.0, 0.0, -0.0, -1.0, -1.0, -1.0, -1.0];
        let max2 = [-0.0, -0.0, -0.0, -0.0, -1.0, -1.0, -1.0];
        let max3 = [0.0, 0.0, 0.0, -0.0, -1.0, -1.0];
        let y = [-0.0, 0.0, 1.0, -1.0, -1.0];
        let y_max2 = [0.0, 1.0, 1.0, -1.0];
        let cases: [(&[f64], usize, &[f64]); 3] = [(&x, 2, &max2), (&x, 3, &max3), (&y, 2, &y_max2)];
        for (x, period, want) in cases {
            let neg: Vec<f64> = x.iter().map(|v| -v).collect();
            let (up, _) = donchian(x, x, period).unwrap();
            assert!(same(&up[period - 1..], want), "MAX {x:?} {period}: {up:?}");
            // TA-Lib's MIN is its MAX mirrored: MIN(x) = -MAX(-x), zeros included
            let (_, down) = donchian(&neg, &neg, period).unwrap();
            let mirrored: Vec<f64> = want.iter().map(|v| -v).collect();
            assert!(same(&down[period - 1..], &mirrored), "MIN {neg:?} {period}: {down:?}");
        }
    }
}
