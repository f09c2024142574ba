//! Relative strength index, TA-Lib `RSI` (Wilder smoothing).
use super::compat::{first_valid, is_zero, to_f64, Column};
use super::Indicator;
use crate::error::{check_period, CoreResult};

/// Wilder's relative strength index (TA-Lib `RSI`, default compatibility).
///
/// Average gain and loss are seeded with the plain mean of the first
/// `period` changes, then smoothed as `(avg * (period - 1) + change) /
/// period`; the output is `100 * gain / (gain + loss)`, and `0.0` when
/// `gain + loss` is within TA-Lib's `1e-14` of zero (so a flat series reads
/// 0, as in TA-Lib 0.6). Lookback `period`; `period >= 2` (TA-Lib's range; a
/// one-bar RSI could only read 0 or 100). Leading NaNs are skipped like the
/// TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    count: usize,
    prev: f64,
    gain: f64,
    loss: f64,
    value: f64,
}

/// One Wilder step on the average gain and loss, in TA-Lib's order; the
/// selects are branch-free and exact (adding `+0.0` changes nothing here).
#[inline]
fn wilder(gain: &mut f64, loss: &mut f64, change: f64, keep: f64, divisor: f64) {
    *loss *= keep;
    *gain *= keep;
    accumulate(gain, loss, change);
    *loss /= divisor;
    *gain /= divisor;
}

/// TA-Lib's `if change < 0 { loss -= change } else { gain += change }`.
#[inline]
fn accumulate(gain: &mut f64, loss: &mut f64, change: f64) {
    let down = change < 0.0;
    *gain += if down { 0.0 } else { change };
    *loss -= if down { change } else { 0.0 };
}

#[inline]
fn rsi_value(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if is_zero(total) {
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
        Ok(Self { period, count: 0, prev: 0.0, gain: 0.0, loss: 0.0, value: f64::NAN })
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
            wilder(&mut self.gain, &mut self.loss, change, to_f64(self.period - 1), divisor);
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
    Ok(rsi_column(x, period)?.collect())
}

/// [`rsi`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`rsi`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn rsi_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    rsi_column(x, period)?.write(out)
}

fn rsi_column(x: &[f64], period: usize) -> CoreResult<Column<impl Iterator<Item = f64> + '_>> {
    check_period("period", period, 2)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    let x = &x[begin..];
    let divisor = to_f64(period);
    let keep = to_f64(period - 1);
    let (mut gain, mut loss) = (0.0, 0.0);
    let mut first = None;
    let mut prev = 0.0;
    if x.len() > period {
        for w in x[..=period].windows(2) {
            accumulate(&mut gain, &mut loss, w[1] - w[0]);
        }
        loss /= divisor;
        gain /= divisor;
        first = Some(rsi_value(gain, loss));
        prev = x[period];
    }
    let rest = x.get(period + 1..).unwrap_or_default();
    let values = first.into_iter().chain(rest.iter().map(move |&v| {
        let change = v - prev;
        prev = v;
        wilder(&mut gain, &mut loss, change, keep, divisor);
        rsi_value(gain, loss)
    }));
    Ok(Column { n, warm: begin.saturating_add(period), values })
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
