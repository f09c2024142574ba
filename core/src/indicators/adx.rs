//! Average directional index with +DI/-DI, TA-Lib `ADX`, `PLUS_DI`,
//! `MINUS_DI` (Wilder smoothing).
use super::compat::{first_valid, same_len, to_f64, true_range, Column};
use super::{Hlc, Indicator};
use crate::error::{check_period, CoreResult};

/// ADX, +DI and -DI of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdxOutput {
    /// Average directional index (ready after `2 * period - 1` bars).
    pub adx: f64,
    /// Plus directional indicator (ready after `period` bars).
    pub plus_di: f64,
    /// Minus directional indicator (ready after `period` bars).
    pub minus_di: f64,
}

impl AdxOutput {
    const NAN: Self = Self { adx: f64::NAN, plus_di: f64::NAN, minus_di: f64::NAN };
}

/// One-bar directional movements `(+DM1, -DM1)`, TA-Lib's case analysis:
/// the larger of the up move and the down move counts if positive; a tie
/// counts for neither.
#[inline]
#[allow(clippy::needless_bitwise_bool)] // `&&` compiles to a branch that mispredicts half the time
fn dm1(diff_plus: f64, diff_minus: f64) -> (f64, f64) {
    // Both cases exclude each other, so TA-Lib's `if / else if` is two
    // independent selects (branch-free; the moves are a coin toss).
    let minus = (diff_minus > 0.0) & (diff_plus < diff_minus);
    let plus = (diff_plus > 0.0) & (diff_plus > diff_minus);
    (if plus { diff_plus } else { 0.0 }, if minus { diff_minus } else { 0.0 })
}

/// Wilder's step `prev - prev / period + new`, as `prev * keep + new` with
/// `keep = (period - 1) / period` (no division per bar).
#[inline]
fn smooth(prev: f64, keep: f64, new: f64) -> f64 {
    prev * keep + new
}

/// Wilder's directional movement state, shared by the streaming and batch
/// forms of ADX, +DI and -DI: the previous bar, and +DM, -DM and true range
/// (raw sums over the first `period - 1` moves, then smoothed as
/// `x - x / period + new`).
#[derive(Debug, Clone, Copy)]
struct DmState {
    divisor: f64,
    /// `(period - 1) / period`.
    keep: f64,
    prev_high: f64,
    prev_low: f64,
    prev_close: f64,
    plus_dm: f64,
    minus_dm: f64,
    tr: f64,
}

impl DmState {
    /// The state after the first bar, which only provides "previous" values.
    fn start(period: usize, high: f64, low: f64, close: f64) -> Self {
        Self {
            divisor: to_f64(period),
            keep: (to_f64(period) - 1.0) / to_f64(period),
            prev_high: high,
            prev_low: low,
            prev_close: close,
            plus_dm: 0.0,
            minus_dm: 0.0,
            tr: 0.0,
        }
    }

    /// The one-bar movements and true range of a new bar, which becomes the
    /// previous one.
    #[inline]
    fn advance(&mut self, high: f64, low: f64, close: f64) -> (f64, f64, f64) {
        let (plus, minus) = dm1(high - self.prev_high, self.prev_low - low);
        let tr = true_range(high, low, self.prev_close);
        (self.prev_high, self.prev_low, self.prev_close) = (high, low, close);
        (plus, minus, tr)
    }

    /// A bar of the seeding phase: raw sums. (Adding an exact 0.0 for a
    /// movement that does not count changes nothing: the sums are never -0.0.)
    #[inline]
    fn add(&mut self, high: f64, low: f64, close: f64) {
        let (plus, minus, tr) = self.advance(high, low, close);
        self.plus_dm += plus;
        self.minus_dm += minus;
        self.tr += tr;
    }

    /// A bar of the smoothing phase.
    #[inline]
    fn step(&mut self, high: f64, low: f64, close: f64) {
        let (plus, minus, tr) = self.advance(high, low, close);
        self.minus_dm = smooth(self.minus_dm, self.keep, minus);
        self.plus_dm = smooth(self.plus_dm, self.keep, plus);
        self.tr = smooth(self.tr, self.keep, tr);
    }

    /// `(+DI, -DI)` of the current state: TA-Lib's `100 * dm / tr`, 0 when
    /// the smoothed range is exactly 0 (one division for both). TA-Lib 0.6
    /// also read 0 for a range below its absolute `1e-14`; TA-Lib 0.8 and
    /// the exact value do not.
    #[inline]
    fn di(&self) -> (f64, f64) {
        if self.tr == 0.0 {
            return (0.0, 0.0);
        }
        let scale = 100.0 / self.tr;
        (self.plus_dm * scale, self.minus_dm * scale)
    }

    /// TA-Lib's DX of the current state.
    #[inline]
    fn dx(&self) -> Option<f64> {
        let (plus, minus) = self.di();
        dx(self.tr, plus, minus)
    }

    /// Batch seeding: the state after bar `period - 1` of a series (previous
    /// values NaN for an empty series).
    fn seed(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Self {
        fn head(x: &[f64], period: usize) -> &[f64] {
            x.get(1..period.min(x.len())).unwrap_or_default()
        }
        let first = |s: &[f64]| s.first().copied().unwrap_or(f64::NAN);
        let mut s = Self::start(period, first(high), first(low), first(close));
        let bars = head(high, period).iter().zip(head(low, period)).zip(head(close, period));
        for ((&h, &l), &c) in bars {
            s.add(h, l, c);
        }
        s
    }
}

/// The streaming form of [`DmState`]: which phase a bar belongs to.
#[derive(Debug, Clone)]
struct Directional {
    period: usize,
    /// Bars seen (after the leading-NaN skip).
    count: usize,
    state: DmState,
}

impl Directional {
    fn new(period: usize) -> Self {
        Self { period, count: 0, state: DmState::start(period, 0.0, 0.0, 0.0) }
    }

    /// Feeds a bar; true once the smoothing runs (from bar `period + 1`).
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, bar: Hlc) -> bool {
        self.count += 1;
        if self.count == 1 {
            self.state = DmState::start(self.period, bar.high, bar.low, bar.close);
        } else if self.count <= self.period {
            self.state.add(bar.high, bar.low, bar.close);
        } else {
            self.state.step(bar.high, bar.low, bar.close);
            return true;
        }
        false
    }

    fn reset(&mut self) {
        *self = Self::new(self.period);
    }
}

/// Wilder's ADX with its +DI and -DI (TA-Lib `ADX`, `PLUS_DI`, `MINUS_DI`).
///
/// +DI/-DI = `100 * smoothed DM / smoothed TR` (0 when the smoothed TR is
/// exactly 0) are ready after `period` bars, exactly TA-Lib's
/// `PLUS_DI`/`MINUS_DI`; DX = `100 * |+DI - -DI| / (+DI + -DI)`; the first ADX
/// is the mean of `period` DX values, then `(adx * (period - 1) + dx) /
/// period`, ready after `2 * period - 1` bars (TA-Lib's lookback). A DX that
/// TA-Lib skips (zero range or zero DI sum) leaves the ADX unchanged, as in
/// TA-Lib. `period >= 2`. Leading bars with a NaN field are skipped like the
/// TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Adx {
    dir: Directional,
    sum_dx: f64,
    value: AdxOutput,
}

/// TA-Lib's DX, or `None` where it skips the bar.
#[inline]
fn dx(tr: f64, plus_di: f64, minus_di: f64) -> Option<f64> {
    if tr == 0.0 {
        return None;
    }
    let sum = minus_di + plus_di;
    if sum == 0.0 {
        return None;
    }
    Some(100.0 * ((minus_di - plus_di).abs() / sum))
}

impl Adx {
    /// An ADX over `period >= 2` bars (TA-Lib's default is 14).
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 2)?;
        Ok(Self { dir: Directional::new(period), sum_dx: 0.0, value: AdxOutput::NAN })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.dir.period
    }

    /// Bars consumed before +DI/-DI are ready (TA-Lib's `PLUS_DI` lookback).
    #[must_use]
    pub fn di_lookback(&self) -> usize {
        self.dir.period
    }

    /// Whether +DI/-DI are past their warm-up.
    #[must_use]
    pub fn di_ready(&self) -> bool {
        self.dir.count > self.dir.period
    }
}

impl Indicator for Adx {
    type Input = Hlc;
    type Output = AdxOutput;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, bar: Hlc) -> AdxOutput {
        if self.dir.count == 0 && (bar.high.is_nan() || bar.low.is_nan() || bar.close.is_nan()) {
            return AdxOutput::NAN;
        }
        if !self.dir.update(bar) {
            return AdxOutput::NAN;
        }
        let d = &self.dir;
        let (plus_di, minus_di) = d.state.di();
        let step = d.state.dx();
        let divisor = d.state.divisor;
        let mut adx = self.value.adx;
        let twice = d.period.saturating_mul(2);
        if d.count <= twice {
            if let Some(v) = step {
                self.sum_dx += v;
            }
            if d.count == twice {
                adx = self.sum_dx / divisor;
            }
        } else if let Some(v) = step {
            adx = adx * d.state.keep + v / divisor;
        }
        self.value = AdxOutput { adx, plus_di, minus_di };
        self.value
    }

    fn value(&self) -> AdxOutput {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.dir.count >= self.dir.period.saturating_mul(2)
    }

    fn reset(&mut self) {
        self.dir.reset();
        self.sum_dx = 0.0;
        self.value = AdxOutput::NAN;
    }

    fn lookback(&self) -> usize {
        self.dir.period.saturating_mul(2) - 1
    }
}

/// Batch ADX: one output per bar, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
pub fn adx(high: &[f64], low: &[f64], close: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    Ok(adx_column(high, low, close, period)?.collect())
}

/// [`adx`] written into `out` (same length as the inputs).
///
/// # Errors
/// As [`adx`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn adx_into(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    adx_column(high, low, close, period)?.write(out)
}

fn adx_column<'a>(
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    period: usize,
) -> CoreResult<Column<impl Iterator<Item = f64> + 'a>> {
    let n = same_len(&[("high", high), ("low", low), ("close", close)])?;
    check_period("period", period, 2)?;
    let begin = first_valid(n, &[high, low, close]);
    let twice = period.saturating_mul(2);
    // Nothing to compute unless a full ADX warm-up follows `begin`.
    let end = if n - begin >= twice { n } else { begin };
    let (high, low, close) = (&high[begin..end], &low[begin..end], &close[begin..end]);
    let divisor = to_f64(period);
    let keep = (divisor - 1.0) / divisor;
    let mut dir = DmState::seed(high, low, close, period);
    let mut bars = high.iter().zip(low).zip(close).skip(period);
    // The first ADX is the mean of `period` DX values.
    let mut sum_dx = 0.0;
    for ((&h, &l), &c) in bars.by_ref().take(period) {
        dir.step(h, l, c);
        if let Some(v) = dir.dx() {
            sum_dx += v;
        }
    }
    let mut value = sum_dx / divisor;
    let first = (!close.is_empty()).then_some(value);
    let values = first.into_iter().chain(bars.map(move |((&h, &l), &c)| {
        dir.step(h, l, c);
        if let Some(v) = dir.dx() {
            value = value * keep + v / divisor;
        }
        value
    }));
    Ok(Column { n, warm: begin.saturating_add(twice - 1), values })
}

/// Batch +DI (TA-Lib `PLUS_DI`): one output per bar, NaN through the
/// warm-up (lookback `period`, or 1 for `period == 1`).
///
/// `period == 1` reproduces TA-Lib's special case, which returns the raw
/// ratio `+DM1 / TR1` **without** the factor 100 (so values lie in [0, 1]).
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn plus_di(high: &[f64], low: &[f64], close: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    Ok(directional::<true>(high, low, close, period)?.collect())
}

/// [`plus_di`] written into `out` (same length as the inputs).
///
/// # Errors
/// As [`plus_di`], and [`crate::error::CoreError::InvalidInput`] if `out`
/// has another length.
pub fn plus_di_into(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    directional::<true>(high, low, close, period)?.write(out)
}

/// Batch -DI (TA-Lib `MINUS_DI`); see [`plus_di`], including the
/// `period == 1` quirk.
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn minus_di(high: &[f64], low: &[f64], close: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    Ok(directional::<false>(high, low, close, period)?.collect())
}

/// [`minus_di`] written into `out` (same length as the inputs).
///
/// # Errors
/// As [`minus_di`], and [`crate::error::CoreError::InvalidInput`] if `out`
/// has another length.
pub fn minus_di_into(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    directional::<false>(high, low, close, period)?.write(out)
}

/// +DI (`PLUS`) or -DI over slices; one function, so both sides share every
/// step, monomorphized so the unused side's arithmetic is compiled out.
fn directional<'a, const PLUS: bool>(
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    period: usize,
) -> CoreResult<Column<impl Iterator<Item = f64> + 'a>> {
    let n = same_len(&[("high", high), ("low", low), ("close", close)])?;
    check_period("period", period, 1)?;
    let begin = first_valid(n, &[high, low, close]);
    let (high, low, close) = (&high[begin..], &low[begin..], &close[begin..]);
    let pick = |(plus, minus): (f64, f64)| if PLUS { plus } else { minus };
    // TA-Lib's period 1 is a raw, unsmoothed ratio (without the factor 100).
    let raw = period == 1;
    let mut state = DmState::seed(high, low, close, period);
    let bars = high.iter().zip(low).zip(close).skip(period);
    let values = bars.map(move |((&h, &l), &c)| {
        if raw {
            let (plus, minus, tr) = state.advance(h, l, c);
            let one = pick((plus, minus));
            return if one > 0.0 && tr != 0.0 { one / tr } else { 0.0 };
        }
        state.step(h, l, c);
        pick(state.di())
    });
    Ok(Column { n, warm: begin.saturating_add(period), values })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hlc(high: f64, low: f64, close: f64) -> Hlc {
        Hlc { high, low, close }
    }

    #[test]
    fn directional_movement_follows_wilders_cases() {
        assert_eq!(dm1(2.0, 1.0), (2.0, 0.0));
        assert_eq!(dm1(1.0, 2.0), (0.0, 2.0));
        assert_eq!(dm1(1.0, 1.0), (0.0, 0.0));
        assert_eq!(dm1(-1.0, -2.0), (0.0, 0.0));
        assert_eq!(dm1(f64::NAN, 1.0), (0.0, 0.0));
    }

    #[test]
    fn adx_on_a_steady_uptrend_is_100() {
        // Every bar moves up by 1 with a range of 1: +DM1 = 1, -DM1 = 0,
        // TR1 = max(1, |h - prev c|) = 1.5. +DI = 100 / 1.5, -DI = 0, DX = 100.
        let bars: Vec<Hlc> = (0..12).map(f64::from).map(|b| hlc(b + 1.0, b, b + 0.5)).collect();
        let mut a = Adx::new(3).unwrap();
        assert_eq!((a.lookback(), a.di_lookback()), (5, 3));
        let out: Vec<AdxOutput> = bars.iter().map(|&b| a.update(b)).collect();
        assert!(out[2].plus_di.is_nan());
        assert!((out[3].plus_di - 100.0 / 1.5).abs() < 1e-9);
        assert_eq!(out[3].minus_di, 0.0);
        assert!(out[4].adx.is_nan());
        assert!((out[5].adx - 100.0).abs() < 1e-9);
        assert!((out[11].adx - 100.0).abs() < 1e-9);
        assert!(a.is_ready() && a.di_ready());
        a.reset();
        assert!(!a.is_ready() && !a.di_ready());
    }

    #[test]
    fn batch_directional_functions_match_streaming() {
        let h = [10.0, 10.5, 11.2, 10.9, 11.5, 12.0, 11.1, 10.7, 11.8, 12.4, 12.1, 12.9];
        let l = [9.5, 9.9, 10.4, 10.1, 10.8, 11.2, 10.3, 10.0, 10.9, 11.7, 11.5, 12.0];
        let c = [9.8, 10.3, 11.0, 10.4, 11.3, 11.6, 10.5, 10.6, 11.6, 12.2, 11.8, 12.5];
        let (ax, p, m) =
            (adx(&h, &l, &c, 3).unwrap(), plus_di(&h, &l, &c, 3).unwrap(), minus_di(&h, &l, &c, 3).unwrap());
        let mut a = Adx::new(3).unwrap();
        for i in 0..h.len() {
            let o = a.update(hlc(h[i], l[i], c[i]));
            for (s, b) in [(o.adx, ax[i]), (o.plus_di, p[i]), (o.minus_di, m[i])] {
                assert!(s.to_bits() == b.to_bits() || (s.is_nan() && b.is_nan()), "bar {i}");
            }
        }
    }

    #[test]
    fn di_period_one_is_a_plain_ratio_like_talib() {
        // +DM1 = 1, TR1 = 1.25: TA-Lib's period-1 +DI is 0.8, not 80.
        let h = [1.0, 2.0];
        let l = [0.5, 1.5];
        let c = [0.75, 1.75];
        assert_eq!(plus_di(&h, &l, &c, 1).unwrap()[1], 0.8);
        assert_eq!(minus_di(&h, &l, &c, 1).unwrap()[1], 0.0);
        assert!(Adx::new(1).is_err());
    }
}
