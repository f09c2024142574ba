//! Rolling z-score: `(x - mean) / std` over a window (population std).
use super::compat::to_f64;
use super::window::Window;
use super::Indicator;
use crate::error::{check_period, CoreResult};

/// Welford statistics of the finite values of a window, plus a count of the
/// non-finite ones. Values are taken relative to a shift (the first value
/// seen), so the mean is stored with the precision of the window's moves
/// rather than of the price level.
#[derive(Debug, Clone, Copy)]
struct Moments {
    shift: f64,
    n: usize,
    /// Mean of `x - shift`.
    mean: f64,
    m2: f64,
    invalid: usize,
}

impl Default for Moments {
    fn default() -> Self {
        Self { shift: f64::NAN, n: 0, mean: 0.0, m2: 0.0, invalid: 0 }
    }
}

impl Moments {
    /// Adds a value (Welford).
    #[inline]
    fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.invalid += 1;
            return;
        }
        if self.shift.is_nan() {
            self.shift = x;
        }
        let y = x - self.shift;
        self.n += 1;
        let delta = y - self.mean;
        self.mean += delta / to_f64(self.n);
        self.m2 += delta * (y - self.mean);
    }

    /// Removes a value added earlier (Welford in reverse).
    #[inline]
    fn remove(&mut self, x: f64) {
        if !x.is_finite() {
            self.invalid -= 1;
            return;
        }
        if self.n <= 1 {
            self.n = 0;
            self.mean = 0.0;
            self.m2 = 0.0;
            return;
        }
        let y = x - self.shift;
        self.n -= 1;
        let delta = y - self.mean;
        self.mean -= delta / to_f64(self.n);
        self.m2 -= delta * (y - self.mean);
    }

    /// Replaces `old` by `new` (both finite, `n > 0`) at constant `n`.
    #[inline]
    fn replace(&mut self, old: f64, new: f64) {
        let (y_old, y_new) = (old - self.shift, new - self.shift);
        let delta = y_new - y_old;
        let prev_mean = self.mean;
        self.mean += delta / to_f64(self.n);
        self.m2 += delta * ((y_new - self.mean) + (y_old - prev_mean));
    }

    /// The z-score of `x` against these statistics (0 for a zero spread).
    #[inline]
    fn score(&self, x: f64) -> f64 {
        let std = (self.m2.max(0.0) / to_f64(self.n)).sqrt();
        if std == 0.0 {
            0.0
        } else {
            ((x - self.shift) - self.mean) / std
        }
    }
}

/// Rolling z-score of the latest value against its window:
/// `(x - mean) / std`, population standard deviation.
///
/// AVD's own definition (TA-Lib has none):
/// * mean and variance are kept with a rolling Welford update (add the new
///   value, remove the old one), not a difference of sums of squares, so the
///   result stays accurate for large prices with small moves. Add/remove
///   updates still drift slowly over millions of bars, so every `period`
///   bars the statistics are replaced by a second, add-only Welford
///   accumulation of exactly the current window, built alongside at O(1) per
///   bar: the error never builds up over more than one window;
/// * a window of identical values has `std == 0` and scores exactly `0.0`
///   (detected exactly, by the run of equal values, so update residue cannot
///   turn a flat window into noise);
/// * a non-finite value makes the output NaN while it is in the window; the
///   indicator recovers once it has left.
///
/// Lookback `period - 1`; `period >= 2` (a one-value window has no spread).
#[derive(Debug, Clone)]
pub struct ZScore {
    period: usize,
    window: Window<f64>,
    count: usize,
    /// Statistics of the current window (add/remove updates).
    live: Moments,
    /// Add-only statistics of the bars since the last rebuild.
    fresh: Moments,
    fresh_len: usize,
    /// Length of the run of equal values ending at the last one.
    run: usize,
    last: f64,
    value: f64,
}

impl ZScore {
    /// A z-score over `period >= 2` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 2)?;
        Ok(Self {
            period,
            window: Window::new(period),
            count: 0,
            live: Moments::default(),
            fresh: Moments::default(),
            fresh_len: 0,
            run: 0,
            last: f64::NAN,
            value: f64::NAN,
        })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for ZScore {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> f64 {
        self.count += 1;
        match self.window.push(x) {
            Some(old) if old.is_finite() && x.is_finite() => self.live.replace(old, x),
            Some(old) => {
                self.live.remove(old);
                self.live.add(x);
            }
            None => self.live.add(x),
        }
        self.fresh.add(x);
        self.fresh_len += 1;
        if self.fresh_len == self.period {
            // `fresh` now holds exactly the window: take it over.
            self.live = self.fresh;
            self.fresh = Moments::default();
            self.fresh_len = 0;
        }
        // Exact equality on purpose: only a truly flat window scores 0.
        #[allow(clippy::float_cmp)]
        let same = x == self.last;
        self.run = if same { self.run + 1 } else { 1 };
        self.last = x;
        let m = &self.live;
        self.value = if self.count < self.period || m.invalid > 0 {
            f64::NAN
        } else if self.run >= self.period {
            0.0
        } else {
            m.score(x)
        };
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
        self.live = Moments::default();
        self.fresh = Moments::default();
        self.fresh_len = 0;
        self.run = 0;
        self.last = f64::NAN;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// Batch rolling z-score: one output per input (the streaming [`ZScore`]
/// run over the array).
///
/// # Errors
/// [`crate::error::CoreError::InvalidParameter`] if `period < 2`.
pub fn zscore(x: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    let mut ind = ZScore::new(period)?;
    Ok(x.iter().map(|&v| ind.update(v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zscore_against_hand_computation() {
        // Window [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, std 2 -> z(9) = 2.
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let out = zscore(&x, 8).unwrap();
        assert!(out[6].is_nan());
        assert!((out[7] - 2.0).abs() < 1e-12);
        // Next window [4, 4, 4, 5, 5, 7, 9, 1]: mean 4.875.
        let mut z = ZScore::new(8).unwrap();
        for v in x {
            z.update(v);
        }
        let w = [4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, 1.0];
        let mean = w.iter().sum::<f64>() / 8.0;
        let std = (w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 8.0).sqrt();
        assert!((z.update(1.0) - (1.0 - mean) / std).abs() < 1e-12);
    }

    #[test]
    fn flat_window_scores_zero_even_after_large_moves() {
        let mut z = ZScore::new(3).unwrap();
        for v in [1e9, -1e9, 3.0, 7.0, 7.0] {
            z.update(v);
        }
        assert_eq!(z.update(7.0), 0.0);
        assert_eq!(z.lookback(), 2);
    }

    #[test]
    fn non_finite_values_blank_the_window_then_leave() {
        let mut z = ZScore::new(2).unwrap();
        z.update(1.0);
        assert!(z.update(f64::INFINITY).is_nan());
        assert!(z.update(3.0).is_nan());
        assert_eq!(z.update(5.0), 1.0);
        z.reset();
        assert!(!z.is_ready() && z.value().is_nan());
        assert!(ZScore::new(1).is_err());
    }
}
