//! Donchian channel: TA-Lib `MAX(high)` and `MIN(low)` over a window.
use super::compat::{check_out, fill, first_valid, same_len};
use super::rolling_extreme::{block_extremes, rescan, RollingMax, RollingMin, WindowRange};
use super::{HighLow, Indicator};
use crate::error::{check_period, CoreResult};

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
/// window is treated) in O(1) per bar. Lookback `period - 1`; `period >= 1`
/// (TA-Lib's `MAX`/`MIN` require 2; a 1-bar channel is the bar itself).
/// Leading bars with a NaN field are skipped like the TA-Lib Python wrapper
/// does.
///
/// Two forms of the same values. While every high and low is positive (what
/// the engine feeds: its candles are checked), van Herk / Gil-Werman blocks
/// ([`WindowRange`]: no data-dependent branch); there TA-Lib's rescans reduce
/// to the window's extreme, and equal positive values have equal bits. On the
/// first high or low that is not positive (NaN, a zero of either sign, a
/// negative value), TA-Lib's state machine ([`RollingMax`], [`RollingMin`]:
/// monotonic deques) is rebuilt by replaying the last `period` bars and runs
/// from then on. The replay points at the oldest of equal extremes where
/// TA-Lib may point at a newer one; that only makes it rescan earlier, over a
/// window whose oldest bar is one of the replayed (positive) ones, so the
/// values stay TA-Lib's (proptest against its rescans).
#[derive(Debug, Clone)]
pub struct Donchian {
    period: usize,
    count: usize,
    fast: WindowRange,
    /// TA-Lib's state machine, once a high or low was not positive.
    exact: Option<(RollingMax, RollingMin)>,
    value: DonchianOutput,
}

impl Donchian {
    /// A channel over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self { period, count: 0, fast: WindowRange::new(period)?, exact: None, value: DonchianOutput::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }

    /// TA-Lib's state machine as it would stand after the bars seen so far
    /// (all positive): the last `period` of them replayed.
    #[cold]
    fn switch_to_exact(&mut self) -> &mut (RollingMax, RollingMin) {
        let (mut high, mut low) = (RollingMax::new(self.period), RollingMin::new(self.period));
        for (h, l) in self.fast.history() {
            high.update(h);
            low.update(l);
        }
        self.exact.insert((high, low))
    }
}

impl Indicator for Donchian {
    type Input = HighLow;
    type Output = DonchianOutput;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    #[allow(clippy::needless_bitwise_bool)] // on purpose: one branch for both prices
    fn update(&mut self, bar: HighLow) -> DonchianOutput {
        if self.exact.is_none() && (bar.high > 0.0) & (bar.low > 0.0) {
            self.count += 1;
            let (upper, lower) = self.fast.update_pair(bar.high, bar.low);
            if self.count >= self.period {
                self.value = DonchianOutput { upper, lower };
            }
            return self.value;
        }
        if self.count == 0 && (bar.high.is_nan() || bar.low.is_nan()) {
            return DonchianOutput::NAN;
        }
        let (high, low) = match &mut self.exact {
            Some(exact) => exact,
            None => self.switch_to_exact(),
        };
        let upper = high.update(bar.high);
        let lower = low.update(bar.low);
        self.count += 1;
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
        self.fast.reset();
        self.exact = None;
        self.value = DonchianOutput::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// Batch Donchian channel: `(upper, lower)`.
///
/// Uses TA-Lib's own rescanning loop, which gives the same values as the
/// streaming deque and is fast on contiguous memory for typical windows.
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn donchian(high: &[f64], low: &[f64], period: usize) -> CoreResult<DonchianSeries> {
    let n = high.len();
    let (mut upper, mut lower) = (vec![0.0; n], vec![0.0; n]);
    donchian_into(high, low, period, [&mut upper, &mut lower])?;
    Ok((upper, lower))
}

/// [`donchian`] written into `[upper, lower]` (each as long as the inputs).
///
/// # Errors
/// As [`donchian`], and [`crate::error::CoreError::InvalidInput`] if an
/// output has another length.
pub fn donchian_into(high: &[f64], low: &[f64], period: usize, out: [&mut [f64]; 2]) -> CoreResult<()> {
    let n = same_len(&[("high", high), ("low", low)])?;
    check_period("period", period, 1)?;
    let [upper, lower] = out;
    check_out(n, &[("upper", upper.len()), ("lower", lower.len())])?;
    if n == 0 {
        return Ok(());
    }
    let begin = first_valid(n, &[high, low]);
    let warm = begin.saturating_add(period - 1);
    extremes::<true>(&high[begin..], period, upper, warm);
    extremes::<false>(&low[begin..], period, lower, warm);
    Ok(())
}

/// One column: NaN through the warm-up, then the window extremes (by blocks
/// when `x` has no NaN, else by TA-Lib's rescans, whose NaN handling the
/// streaming form replays).
fn extremes<const HIGHEST: bool>(x: &[f64], period: usize, out: &mut [f64], warm: usize) {
    if x.len() >= period {
        let (head, tail) = out.split_at_mut(warm.min(out.len()));
        head.fill(f64::NAN);
        if block_extremes::<HIGHEST>(x, period, tail) {
            return;
        }
    }
    fill(out, warm, rescan::<HIGHEST>(x, period));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bitwise equal (so +0 and -0 differ), any NaN matching any NaN.
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// TA-Lib's `MAX(high)` and `MIN(low)` by its own rescans, after the
    /// leading bars with a NaN (skipped like the Python wrapper does).
    fn talib(high: &[f64], low: &[f64], period: usize) -> Vec<(f64, f64)> {
        let begin = high.iter().zip(low).position(|(h, l)| !h.is_nan() && !l.is_nan()).unwrap_or(high.len());
        let warm = (begin + period - 1).min(high.len());
        let mut out = vec![(f64::NAN, f64::NAN); warm];
        out.extend(rescan::<true>(&high[begin..], period).zip(rescan::<false>(&low[begin..], period)));
        out
    }

    /// Mostly positive prices with ties; sometimes a value that sends the
    /// channel to TA-Lib's state machine.
    fn price() -> impl Strategy<Value = f64> {
        prop_oneof![
            40 => (1i32..6).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(0.0),
            1 => Just(-0.0),
            1 => Just(-2.0),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ]
    }

    proptest! {
        #[test]
        fn streaming_equals_talib_rescans_before_and_after_a_bad_price(
            bars in proptest::collection::vec((price(), price()), 0..120),
            period in 1usize..12,
        ) {
            let (high, low): (Vec<f64>, Vec<f64>) = bars.into_iter().unzip();
            let want = talib(&high, &low, period);
            let mut d = Donchian::new(period).unwrap();
            for (i, (&h, &l)) in high.iter().zip(&low).enumerate() {
                let got = d.update(HighLow { high: h, low: l });
                prop_assert!(
                    same(got.upper, want[i].0) && same(got.lower, want[i].1),
                    "bar {}: {:?} vs {:?}", i, got, want[i]
                );
            }
        }
    }

    #[test]
    fn a_nan_after_a_long_positive_run_keeps_talib_values() {
        // ties everywhere: TA-Lib points at the newest 5.0, the replay at the
        // oldest; then the window's oldest bar is a NaN
        let high = [5.0, 5.0, 5.0, 1.0, f64::NAN, 1.0, 1.0, 2.0, 1.0];
        let low = [1.0; 9];
        let want = talib(&high, &low, 3);
        let mut d = Donchian::new(3).unwrap();
        for (i, &h) in high.iter().enumerate() {
            let got = d.update(HighLow { high: h, low: 1.0 });
            assert!(same(got.upper, want[i].0), "bar {i}: {} vs {}", got.upper, want[i].0);
        }
        assert!(d.exact.is_some());
        d.reset();
        assert!(d.exact.is_none() && !d.is_ready());
    }

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
}
