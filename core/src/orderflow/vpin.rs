//! VPIN, the volume-synchronized probability of informed trading (Easley,
//! López de Prado & O'Hara, 2012), with the exact trade side from Binance's
//! `m` flag instead of bulk classification.
//!
//! Trades fill buckets of equal volume `V`; a trade larger than the room
//! left in the current bucket is split, the rest going to the next buckets
//! (same side). Over the last `n` complete buckets:
//!
//! ```text
//! VPIN = Σ |V_sell − V_buy| / (n · V)
//! ```
//!
//! in [0, 1]; undefined (None) until `n` buckets are complete.
use std::collections::VecDeque;

use crate::error::{CoreError, CoreResult};

/// Streaming VPIN over volume buckets.
#[derive(Debug, Clone)]
pub struct Vpin {
    bucket_volume: f64,
    window: usize,
    buy: f64,
    sell: f64,
    /// `|sell − buy|` of the last `window` complete buckets.
    buckets: VecDeque<f64>,
    completed: u64,
}

impl Vpin {
    /// # Errors
    /// [`CoreError::InvalidParameter`] unless `bucket_volume > 0` (finite)
    /// and `window >= 1`.
    pub fn new(bucket_volume: f64, window: usize) -> CoreResult<Self> {
        if !bucket_volume.is_finite() || bucket_volume <= 0.0 {
            return Err(CoreError::param("bucket_volume", format!("must be a finite number > 0, got {bucket_volume}")));
        }
        if window == 0 {
            return Err(CoreError::param("window", "must be >= 1, got 0"));
        }
        Ok(Self { bucket_volume, window, buy: 0.0, sell: 0.0, buckets: VecDeque::with_capacity(window), completed: 0 })
    }

    #[must_use]
    pub fn bucket_volume(&self) -> f64 {
        self.bucket_volume
    }

    #[must_use]
    pub fn window(&self) -> usize {
        self.window
    }

    /// Buckets completed since the start.
    #[must_use]
    pub fn completed(&self) -> u64 {
        self.completed
    }

    fn push(&mut self, imbalance: f64) {
        if self.buckets.len() == self.window {
            self.buckets.pop_front();
        }
        self.buckets.push_back(imbalance);
        self.completed += 1;
    }

    /// Adds a trade of `qty` (taker buy when `is_buy`). The caller checks
    /// `qty` (finite, >= 0).
    pub fn add(&mut self, qty: f64, is_buy: bool) {
        let v = self.bucket_volume;
        let mut rest = qty;
        while rest > 0.0 {
            let room = v - (self.buy + self.sell);
            if rest < room {
                if is_buy {
                    self.buy += rest;
                } else {
                    self.sell += rest;
                }
                return;
            }
            // the trade completes this bucket: the room goes to its side,
            // decided by the branch, not by a float comparison with V
            let (b, s) = if is_buy { (self.buy + room, self.sell) } else { (self.buy, self.sell + room) };
            self.push((s - b).abs());
            self.buy = 0.0;
            self.sell = 0.0;
            rest -= room;
            // whole buckets of one side: only the last `window` can matter
            let full = (rest / v).floor();
            if full >= 1.0 {
                let keep = (full as u64).min(self.window as u64);
                for _ in 0..keep {
                    self.push(v);
                }
                self.completed += full as u64 - keep;
                rest -= full * v;
            }
        }
    }

    /// VPIN over the last `window` complete buckets, or None before that.
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        (self.buckets.len() == self.window)
            .then(|| self.buckets.iter().sum::<f64>() / (self.window as f64 * self.bucket_volume))
    }

    /// Forgets every bucket.
    pub fn reset(&mut self) {
        self.buy = 0.0;
        self.sell = 0.0;
        self.buckets.clear();
        self.completed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_buckets() {
        // V = 10, n = 2. buy 4, sell 8 -> bucket 1 = buy 4 / sell 6, sell 2 carried;
        // buy 8 -> bucket 2 = sell 2 / buy 8; sell 5 stays in bucket 3.
        let mut v = Vpin::new(10.0, 2).unwrap();
        v.add(4.0, true);
        v.add(8.0, false);
        assert_eq!(v.value(), None);
        v.add(8.0, true);
        assert_eq!(v.value(), Some((2.0 + 6.0) / 20.0));
        v.add(5.0, false);
        assert_eq!(v.value(), Some(0.4));
        // sell 5 + buy 25: bucket 3 = sell 5 / buy 5 (0), then two full buy buckets (10, 10)
        v.add(25.0, true);
        assert_eq!(v.completed(), 5);
        assert_eq!(v.value(), Some(1.0));
    }

    #[test]
    fn bad_parameters() {
        assert!(Vpin::new(0.0, 5).is_err());
        assert!(Vpin::new(f64::INFINITY, 5).is_err());
        assert!(Vpin::new(1.0, 0).is_err());
    }
}
