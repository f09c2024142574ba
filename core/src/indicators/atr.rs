//! Average true range, TA-Lib `ATR` (Wilder smoothing).
use super::compat::{first_valid, same_len, to_f64, true_range, Column};
use super::{Hlc, Indicator};
use crate::error::{check_period, CoreResult};

/// Wilder's average true range (TA-Lib `ATR`).
///
/// The first bar only provides a previous close; the first ATR is the mean
/// of the next `period` true ranges, then `(atr * (period - 1) + tr) /
/// period`. Lookback `period`; `period == 1` gives the plain true range
/// (TA-Lib `TRANGE`). Leading bars with a NaN field are skipped like the
/// TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
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
        Ok(Self { period, count: 0, prev_close: 0.0, total: 0.0, value: f64::NAN })
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
        } else {
            self.value *= to_f64(self.period - 1);
            self.value += tr;
            self.value /= to_f64(self.period);
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
    Ok(atr_column(high, low, close, period)?.collect())
}

/// [`atr`] written into `out` (same length as the inputs).
///
/// # Errors
/// As [`atr`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn atr_into(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    atr_column(high, low, close, period)?.write(out)
}

fn atr_column<'a>(
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    period: usize,
) -> CoreResult<Column<impl Iterator<Item = f64> + 'a>> {
    let n = same_len(&[("high", high), ("low", low), ("close", close)])?;
    check_period("period", period, 1)?;
    let begin = first_valid(n, &[high, low, close]);
    // Nothing to compute unless `period` true ranges follow the first bar.
    let end = if n - begin > period { n } else { begin };
    let (high, low, close) = (&high[begin..end], &low[begin..end], &close[begin..end]);
    let bars = high.iter().zip(low).zip(close);
    let mut trs = bars.clone().skip(1).zip(bars).map(|(((&h, &l), _), (_, &pc))| true_range(h, l, pc));
    let identity = period == 1;
    let divisor = to_f64(period);
    let keep = to_f64(period - 1);
    let mut value = 0.0;
    let mut first = None;
    if !identity && !close.is_empty() {
        let mut total = 0.0;
        for tr in trs.by_ref().take(period) {
            total += tr;
        }
        value = total / divisor;
        first = Some(value);
    }
    let values = first.into_iter().chain(trs.map(move |tr| {
        if identity {
            return tr;
        }
        value *= keep;
        value += tr;
        value /= divisor;
        value
    }));
    Ok(Column { n, warm: begin.saturating_add(period), values })
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
