//! The kline delta's share of the volume over a window: the order flow a
//! backtest can see.
//!
//! A kline's *delta* is its taker-buy volume minus its taker-sell volume,
//! `2 × taker_buy − volume` (Binance's klines give the taker-buy volume; the
//! rest of the volume was sold by takers). Over the last `period` closed
//! candles, the *delta share* is `Σ delta / Σ volume`, in `[−1, 1]`: the
//! change of the cumulative volume delta (CVD) over the window, relative to
//! the volume traded. +1 means every taker bought, −1 every taker sold. It
//! equals `2 × (Σ taker_buy / Σ volume) − 1`, the window's taker-buy share
//! recentred, and it is what the live trade flow's CVD measures (`@aggTrade`,
//! `avd.orderflow`) computed from klines alone, so live and backtests agree.
//!
//! It is NaN while the window is not full, while it holds a candle without
//! the taker-buy volume (files that lack the column) or without volume, and
//! when the window traded nothing. It is not a TA-Lib indicator.
use super::Indicator;
use crate::error::check_period;
use crate::error::CoreResult;

/// One candle's volume and taker-buy volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeTakerBuy {
    pub volume: f64,
    pub taker_buy: f64,
}

/// The rolling `Σ delta / Σ volume` of the last `period` candles.
///
/// The window's sums are recomputed from its values once per `period` bars,
/// so the running sums' rounding never accumulates past one window.
#[derive(Debug, Clone)]
pub struct DeltaShare {
    period: usize,
    /// `(delta, volume)` of the window's candles, a ring; NaN for a candle
    /// without the taker-buy volume.
    ring: Vec<(f64, f64)>,
    next: usize,
    seen: usize,
    delta_sum: f64,
    volume_sum: f64,
    /// Candles of the window that lack the taker-buy volume.
    missing: usize,
    value: f64,
}

impl DeltaShare {
    /// The share over `period >= 1` candles.
    ///
    /// # Errors
    /// [`crate::error::CoreError::InvalidParameter`] if `period < 1`.
    pub fn new(period: usize) -> CoreResult<Self> {
        let period = check_period("period", period, 1)?;
        Ok(Self {
            period,
            ring: vec![(0.0, 0.0); period],
            next: 0,
            seen: 0,
            delta_sum: 0.0,
            volume_sum: 0.0,
            missing: 0,
            value: f64::NAN,
        })
    }

    fn resum(&mut self) {
        let (mut d, mut v) = (0.0, 0.0);
        for &(delta, volume) in &self.ring {
            if delta.is_finite() {
                d += delta;
                v += volume;
            }
        }
        self.delta_sum = d;
        self.volume_sum = v;
    }
}

impl Indicator for DeltaShare {
    type Input = VolumeTakerBuy;
    type Output = f64;

    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    fn update(&mut self, bar: VolumeTakerBuy) -> f64 {
        let delta = 2.0 * bar.taker_buy - bar.volume;
        let entry = if delta.is_finite() && bar.volume.is_finite() && bar.volume >= 0.0 {
            (delta, bar.volume)
        } else {
            (f64::NAN, f64::NAN)
        };
        let full = self.seen >= self.period;
        let old = self.ring[self.next];
        if full {
            if old.0.is_finite() {
                self.delta_sum -= old.0;
                self.volume_sum -= old.1;
            } else {
                self.missing -= 1;
            }
        }
        if entry.0.is_finite() {
            self.delta_sum += entry.0;
            self.volume_sum += entry.1;
        } else {
            self.missing += 1;
        }
        self.ring[self.next] = entry;
        self.next += 1;
        if self.next == self.period {
            self.next = 0;
        }
        self.seen += 1;
        if self.next == 0 {
            self.resum();
        }
        self.value = if self.seen >= self.period && self.missing == 0 && self.volume_sum > 0.0 {
            (self.delta_sum / self.volume_sum).clamp(-1.0, 1.0)
        } else {
            f64::NAN
        };
        self.value
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_ready(&self) -> bool {
        self.value.is_finite()
    }

    fn reset(&mut self) {
        *self = Self::new(self.period).expect("the period was checked");
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(volume: f64, taker_buy: f64) -> VolumeTakerBuy {
        VolumeTakerBuy { volume, taker_buy }
    }

    #[test]
    fn the_share_of_a_hand_worked_window() {
        let mut s = DeltaShare::new(3).unwrap();
        // deltas 2*6-10 = 2, 2*1-4 = -2, 2*5-6 = 4; volumes 10, 4, 6
        assert!(s.update(bar(10.0, 6.0)).is_nan());
        assert!(s.update(bar(4.0, 1.0)).is_nan());
        assert_eq!(s.update(bar(6.0, 5.0)), (2.0 - 2.0 + 4.0) / 20.0);
        // the first candle leaves: (-2 + 4 + 2*0-8) / (4 + 6 + 8)
        assert_eq!(s.update(bar(8.0, 0.0)), (-2.0 + 4.0 - 8.0) / 18.0);
        assert_eq!(s.lookback(), 2);
    }

    #[test]
    fn a_candle_without_taker_volume_blanks_its_window_only() {
        let mut s = DeltaShare::new(2).unwrap();
        s.update(bar(1.0, 1.0));
        assert_eq!(s.update(bar(1.0, 1.0)), 1.0);
        assert!(s.update(bar(1.0, f64::NAN)).is_nan());
        assert!(s.update(bar(3.0, 0.0)).is_nan(), "the NaN is still in the window");
        assert_eq!(s.update(bar(1.0, 1.0)), (-3.0 + 1.0) / 4.0);
        // nothing traded: NaN, not a division by zero
        let mut z = DeltaShare::new(1).unwrap();
        assert!(z.update(bar(0.0, 0.0)).is_nan());
    }

    #[test]
    fn the_running_sums_equal_a_fresh_sum_of_the_window() {
        let mut s = DeltaShare::new(7).unwrap();
        let bars: Vec<_> = (0..500)
            .map(|i| {
                let v = 1.0 + f64::from(i % 13) * 1234.5678;
                bar(v, v * (0.5 + 0.4 * (f64::from(i) / 7.0).sin()))
            })
            .collect();
        for (i, b) in bars.iter().enumerate() {
            let got = s.update(*b);
            if i >= 6 {
                let w = &bars[i - 6..=i];
                let d: f64 = w.iter().map(|b| 2.0 * b.taker_buy - b.volume).sum();
                let v: f64 = w.iter().map(|b| b.volume).sum();
                assert!((got - d / v).abs() < 1e-12, "bar {i}: {got} vs {}", d / v);
            }
        }
    }
}
