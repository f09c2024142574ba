//! Volume-weighted average price over a rolling window.
use super::compat::same_len;
use super::window::Window;
use super::{HlcVolume, Indicator};
use crate::error::{check_period, CoreResult};

/// A running sum with Neumaier compensation, so adding and removing values
/// for millions of bars does not drift.
#[derive(Debug, Clone, Copy, Default)]
struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    #[inline]
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    #[inline]
    fn value(self) -> f64 {
        self.sum + self.compensation
    }
}

/// What one bar contributes: `(typical * volume, volume)`, or `None` when a
/// field (or the product) is not finite.
type Contribution = Option<(f64, f64)>;

/// Rolling volume-weighted average price: `sum(typical * volume) /
/// sum(volume)` over the last `period` bars, `typical = (high + low + close)
/// / 3`.
///
/// AVD's own definition (TA-Lib has no rolling VWAP):
/// * a window whose volumes are all zero has no volume-weighted price; it
///   reports the latest typical price instead (volume-less bars happen at
///   exchange restarts);
/// * a bar with a non-finite field makes the output NaN for as long as it is
///   in the window, and the indicator recovers once it has left (rather than
///   poisoning every later value);
/// * sums are compensated (Neumaier), so they do not drift over long runs.
///
/// Lookback `period - 1`; `period >= 1`.
#[derive(Debug, Clone)]
pub struct Vwap {
    period: usize,
    window: Window<Contribution>,
    count: usize,
    price_volume: CompensatedSum,
    volume: CompensatedSum,
    /// Bars of the window with a non-zero volume.
    traded: usize,
    /// Bars of the window with a non-finite field.
    invalid: usize,
    value: f64,
}

impl Vwap {
    /// A VWAP over `period >= 1` bars.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self {
            period,
            window: Window::new(period),
            count: 0,
            price_volume: CompensatedSum::default(),
            volume: CompensatedSum::default(),
            traded: 0,
            invalid: 0,
            value: f64::NAN,
        })
    }

    /// The window length.
    #[must_use]
    pub fn period(&self) -> usize {
        self.period
    }

    fn account(&mut self, c: Contribution, sign: f64) {
        match c {
            Some((pv, v)) => {
                self.price_volume.add(sign * pv);
                self.volume.add(sign * v);
                if v != 0.0 {
                    if sign > 0.0 {
                        self.traded += 1;
                    } else {
                        self.traded -= 1;
                    }
                }
            }
            None if sign > 0.0 => self.invalid += 1,
            None => self.invalid -= 1,
        }
    }
}

impl Indicator for Vwap {
    type Input = HlcVolume;
    type Output = f64;

    fn update(&mut self, bar: HlcVolume) -> f64 {
        self.count += 1;
        let typical = (bar.high + bar.low + bar.close) / 3.0;
        let pv = typical * bar.volume;
        let c = (pv.is_finite() && typical.is_finite() && bar.volume.is_finite()).then_some((pv, bar.volume));
        self.account(c, 1.0);
        if let Some(old) = self.window.push(c) {
            self.account(old, -1.0);
        }
        self.value = if self.count < self.period || self.invalid > 0 {
            f64::NAN
        } else if self.traded == 0 {
            typical
        } else {
            self.price_volume.value() / self.volume.value()
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
        self.price_volume = CompensatedSum::default();
        self.volume = CompensatedSum::default();
        self.traded = 0;
        self.invalid = 0;
        self.value = f64::NAN;
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

/// Batch rolling VWAP: one output per bar (the streaming [`Vwap`] run over
/// the arrays).
///
/// # Errors
/// [`crate::error::CoreError::InvalidInput`] if the lengths differ;
/// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
pub fn vwap(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], period: usize) -> CoreResult<Vec<f64>> {
    same_len(&[("high", high), ("low", low), ("close", close), ("volume", volume)])?;
    let mut ind = Vwap::new(period)?;
    let bars = high.iter().zip(low).zip(close).zip(volume);
    Ok(bars.map(|(((&high, &low), &close), &volume)| ind.update(HlcVolume { high, low, close, volume })).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(high: f64, low: f64, close: f64, volume: f64) -> HlcVolume {
        HlcVolume { high, low, close, volume }
    }

    #[test]
    fn vwap_weights_typical_prices_by_volume() {
        // Typical prices 10, 20, 30 with volumes 1, 3, 0:
        // window 2 -> (10 + 60) / 4 = 17.5, then (60 + 0) / 3 = 20.
        let h = [11.0, 21.0, 31.0];
        let l = [9.0, 19.0, 29.0];
        let c = [10.0, 20.0, 30.0];
        let v = [1.0, 3.0, 0.0];
        let out = vwap(&h, &l, &c, &v, 2).unwrap();
        assert!(out[0].is_nan());
        assert_eq!(&out[1..], &[17.5, 20.0]);
    }

    #[test]
    fn zero_volume_window_reports_the_latest_typical_price() {
        let mut w = Vwap::new(2).unwrap();
        assert!(w.update(bar(11.0, 9.0, 10.0, 0.0)).is_nan());
        assert_eq!(w.update(bar(13.0, 11.0, 12.0, 0.0)), 12.0);
        assert_eq!(w.update(bar(15.0, 13.0, 14.0, 2.0)), 14.0);
        assert_eq!(w.lookback(), 1);
    }

    #[test]
    fn a_nan_bar_blanks_the_window_then_leaves_it() {
        let mut w = Vwap::new(2).unwrap();
        w.update(bar(11.0, 9.0, 10.0, 1.0));
        assert!(w.update(bar(f64::NAN, 9.0, 10.0, 1.0)).is_nan());
        assert!(w.update(bar(11.0, 9.0, 10.0, 1.0)).is_nan());
        assert_eq!(w.update(bar(21.0, 19.0, 20.0, 1.0)), 15.0);
        w.reset();
        assert!(!w.is_ready() && w.value().is_nan());
    }

    #[test]
    fn vwap_validates_its_inputs() {
        assert!(Vwap::new(0).is_err());
        assert!(vwap(&[1.0], &[1.0], &[1.0], &[], 1).is_err());
        assert!(vwap(&[], &[], &[], &[], 3).unwrap().is_empty());
    }
}
