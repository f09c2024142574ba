//! Linearly weighted moving average, TA-Lib `WMA`.
use super::compat::{first_valid, to_f64, Column};
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};

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
/// plain total of the window; each bar adds `period * x` to `sum`, outputs
/// `sum / divider`, then subtracts `sub`. Lookback `period - 1`.
/// `period == 1` returns the input unchanged (TA-Lib 0.6 rejects 1).
/// Leading NaNs are skipped like the TA-Lib Python wrapper does.
#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    weight: f64,
    divider: f64,
    window: Window<f64>,
    count: usize,
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
            window: Window::new(period - 1),
            count: 0,
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
            self.sub += x;
            self.sum += x * to_f64(self.count);
            self.window.push(x);
            return f64::NAN;
        }
        self.sub += x;
        self.sub -= self.trailing;
        self.sum += x * self.weight;
        self.trailing = self.window.push(x).unwrap_or(0.0);
        self.value = self.sum / self.divider;
        self.sum -= self.sub;
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
        self.sum = 0.0;
        self.sub = 0.0;
        self.trailing = 0.0;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// Batch WMA: one output per input, NaN through the warm-up.
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn wma(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    Ok(wma_column(x, period)?.collect())
}

/// [`wma`] written into `out` (same length as `x`).
///
/// # Errors
/// As [`wma`], and [`crate::error::CoreError::InvalidInput`] if `out` has
/// another length.
pub fn wma_into(x: &[f64], period: usize, out: &mut [f64]) -> CoreResult<()> {
    wma_column(x, period)?.write(out)
}

fn wma_column(x: &[f64], period: usize) -> CoreResult<Column<impl Iterator<Item = f64> + '_>> {
    check_period("period", period, 1)?;
    let n = x.len();
    let begin = first_valid(n, &[x]);
    let x = &x[begin..];
    let weight = to_f64(period);
    let div = divider(period);
    // Period 1 passes the input through; longer ones run TA-Lib's recursion.
    let (passed, rest) = if period == 1 { (x, &x[x.len()..]) } else { (&x[..0], x) };
    let head = (period - 1).min(rest.len());
    let (mut sum, mut sub) = (0.0, 0.0);
    for (i, &v) in rest[..head].iter().enumerate() {
        sub += v;
        sum += v * to_f64(i + 1);
    }
    let mut trailing = 0.0;
    let weighted = rest[head..].iter().zip(rest).map(move |(&v, &old)| {
        sub += v;
        sub -= trailing;
        sum += v * weight;
        trailing = old;
        let value = sum / div;
        sum -= sub;
        value
    });
    let values = passed.iter().copied().chain(weighted);
    Ok(Column { n, warm: begin.saturating_add(period - 1), values })
}

#[cfg(test)]
mod tests {
    use super::*;

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
