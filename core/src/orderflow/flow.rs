//! Streaming order flow per candle, from the trade stream (`@aggTrade`).
//!
//! Each trade `(time, price, qty, m)` goes to the candle
//! `floor(time / interval) · interval`. Per candle: taker buy and sell
//! volume and trade counts, delta = buy − sell, the CVD (running delta
//! since the flow started) at the candle's last trade, trade imbalance =
//! delta / (buy + sell), the number of large trades on each side (notional
//! `price · qty` at or above a threshold) and the VPIN after the candle's
//! last trade.
//!
//! A trade in a later candle closes the current one (and emits empty
//! candles for the minutes without trades in between, so the candles stay
//! aligned with klines); [`OrderFlow::flush`] closes candles without waiting
//! for a trade (the collector calls it when the kline closes). A late trade,
//! timed before the current candle's open, is counted in the current candle
//! and in [`OrderFlow::late_trades`].
use std::collections::VecDeque;

use super::cvd::signed_qty;
use super::vpin::Vpin;
use crate::error::{CoreError, CoreResult};

/// The flow of one candle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleFlow {
    /// Candle open time, ms since epoch.
    pub open_time: i64,
    pub buy_volume: f64,
    pub sell_volume: f64,
    pub buy_trades: u64,
    pub sell_trades: u64,
    pub large_buys: u64,
    pub large_sells: u64,
    /// CVD at the candle's end (since the flow started).
    pub cvd: f64,
    /// VPIN at the candle's end, None until enough buckets are complete.
    pub vpin: Option<f64>,
}

impl CandleFlow {
    fn empty(open_time: i64, cvd: f64, vpin: Option<f64>) -> Self {
        Self {
            open_time,
            buy_volume: 0.0,
            sell_volume: 0.0,
            buy_trades: 0,
            sell_trades: 0,
            large_buys: 0,
            large_sells: 0,
            cvd,
            vpin,
        }
    }

    /// `buy_volume − sell_volume`.
    #[must_use]
    pub fn delta(&self) -> f64 {
        self.buy_volume - self.sell_volume
    }

    /// `delta / (buy + sell)` in [−1, 1]; None without volume.
    #[must_use]
    pub fn imbalance(&self) -> Option<f64> {
        let total = self.buy_volume + self.sell_volume;
        (total > 0.0).then(|| self.delta() / total)
    }

    /// Total volume.
    #[must_use]
    pub fn volume(&self) -> f64 {
        self.buy_volume + self.sell_volume
    }
}

/// Parameters of an [`OrderFlow`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowConfig {
    /// Candle length in ms.
    pub interval_ms: i64,
    /// A trade is large when `price · qty >= large_trade_notional`.
    pub large_trade_notional: f64,
    /// VPIN bucket size, in base volume.
    pub vpin_bucket_volume: f64,
    /// VPIN window, in buckets.
    pub vpin_window: usize,
    /// Closed candles kept.
    pub history: usize,
}

/// Per-candle order flow, updated one trade at a time.
#[derive(Debug, Clone)]
pub struct OrderFlow {
    cfg: FlowConfig,
    current: Option<CandleFlow>,
    closed: VecDeque<CandleFlow>,
    cvd: f64,
    vpin: Vpin,
    trades: u64,
    late: u64,
}

impl OrderFlow {
    /// # Errors
    /// [`CoreError::InvalidParameter`] for a non-positive interval or
    /// history, a negative or NaN threshold, or bad VPIN parameters.
    pub fn new(cfg: FlowConfig) -> CoreResult<Self> {
        if cfg.interval_ms <= 0 {
            return Err(CoreError::param("interval_ms", format!("must be > 0, got {}", cfg.interval_ms)));
        }
        if cfg.large_trade_notional.is_nan() || cfg.large_trade_notional < 0.0 {
            return Err(CoreError::param(
                "large_trade_notional",
                format!("must be >= 0 (inf disables), got {}", cfg.large_trade_notional),
            ));
        }
        if cfg.history == 0 {
            return Err(CoreError::param("history", "must be >= 1, got 0"));
        }
        let vpin = Vpin::new(cfg.vpin_bucket_volume, cfg.vpin_window)?;
        Ok(Self { cfg, current: None, closed: VecDeque::new(), cvd: 0.0, vpin, trades: 0, late: 0 })
    }

    #[must_use]
    pub fn config(&self) -> FlowConfig {
        self.cfg
    }

    fn open_of(&self, time_ms: i64) -> i64 {
        time_ms.div_euclid(self.cfg.interval_ms) * self.cfg.interval_ms
    }

    fn push_closed(&mut self, c: CandleFlow) {
        if self.closed.len() == self.cfg.history {
            self.closed.pop_front();
        }
        self.closed.push_back(c);
    }

    /// Closes the current candle and the empty ones up to (not including)
    /// the candle opening at `open`; returns how many closed.
    fn roll_to(&mut self, open: i64) -> usize {
        let Some(cur) = self.current else { return 0 };
        if open <= cur.open_time {
            return 0;
        }
        self.push_closed(cur);
        let step = self.cfg.interval_ms;
        let missing = (open - cur.open_time) / step - 1;
        // only the last `history` empty candles can be kept
        let keep = missing.min(self.cfg.history as i64);
        let vpin = self.vpin.value();
        for k in (missing - keep + 1)..=missing {
            self.push_closed(CandleFlow::empty(cur.open_time + k * step, self.cvd, vpin));
        }
        self.current = None;
        (missing + 1) as usize
    }

    /// Adds one trade; returns the number of candles it closed.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] for a non-positive or non-finite price or
    /// a negative or non-finite quantity (nothing changes).
    pub fn update(&mut self, time_ms: i64, price: f64, qty: f64, is_buyer_maker: bool) -> CoreResult<usize> {
        if !price.is_finite() || price <= 0.0 {
            return Err(CoreError::InvalidInput(format!("trade price must be finite and > 0, got {price}")));
        }
        if !qty.is_finite() || qty < 0.0 {
            return Err(CoreError::InvalidInput(format!("trade quantity must be finite and >= 0, got {qty}")));
        }
        let open = self.open_of(time_ms);
        let closed = self.roll_to(open);
        let (cvd, vpin_before) = (self.cvd, self.vpin.value());
        let cur = self.current.get_or_insert_with(|| CandleFlow::empty(open, cvd, vpin_before));
        if open < cur.open_time {
            self.late += 1;
        }
        let large = price * qty >= self.cfg.large_trade_notional;
        if is_buyer_maker {
            cur.sell_volume += qty;
            cur.sell_trades += 1;
            cur.large_sells += u64::from(large);
        } else {
            cur.buy_volume += qty;
            cur.buy_trades += 1;
            cur.large_buys += u64::from(large);
        }
        self.cvd += signed_qty(qty, is_buyer_maker);
        self.vpin.add(qty, !is_buyer_maker);
        cur.cvd = self.cvd;
        cur.vpin = self.vpin.value();
        self.trades += 1;
        Ok(closed)
    }

    /// Closes every candle that ends at or before `time_ms` (a candle
    /// without trades is closed empty); returns how many closed.
    pub fn flush(&mut self, time_ms: i64) -> usize {
        let open = self.open_of(time_ms);
        let closed = self.roll_to(open);
        if self.current.is_none() && closed > 0 {
            // the candle in progress at `time_ms` starts empty
            self.current = Some(CandleFlow::empty(open, self.cvd, self.vpin.value()));
        }
        closed
    }

    /// The candle in progress (None before the first trade).
    #[must_use]
    pub fn current(&self) -> Option<CandleFlow> {
        self.current
    }

    /// The closed candles, oldest first (at most `history`).
    #[must_use]
    pub fn closed(&self) -> &VecDeque<CandleFlow> {
        &self.closed
    }

    /// The CVD since the start.
    #[must_use]
    pub fn cvd(&self) -> f64 {
        self.cvd
    }

    /// The VPIN now (None until `vpin_window` buckets are complete).
    #[must_use]
    pub fn vpin(&self) -> Option<f64> {
        self.vpin.value()
    }

    /// Trades seen.
    #[must_use]
    pub fn trades(&self) -> u64 {
        self.trades
    }

    /// Trades that arrived after their candle had closed.
    #[must_use]
    pub fn late_trades(&self) -> u64 {
        self.late
    }

    /// Forgets everything, keeping the parameters.
    pub fn reset(&mut self) {
        self.current = None;
        self.closed.clear();
        self.cvd = 0.0;
        self.vpin.reset();
        self.trades = 0;
        self.late = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> OrderFlow {
        OrderFlow::new(FlowConfig {
            interval_ms: 60_000,
            large_trade_notional: 1000.0,
            vpin_bucket_volume: 10.0,
            vpin_window: 2,
            history: 10,
        })
        .unwrap()
    }

    #[test]
    fn trades_fill_candles_and_a_later_trade_closes_them() {
        let mut f = flow();
        assert_eq!(f.update(1_000, 100.0, 4.0, false).unwrap(), 0);
        assert_eq!(f.update(2_000, 100.0, 12.0, true).unwrap(), 0); // large sell (1200)
        let c = f.current().unwrap();
        assert_eq!((c.open_time, c.buy_volume, c.sell_volume, c.delta(), c.cvd), (0, 4.0, 12.0, -8.0, -8.0));
        assert_eq!((c.large_buys, c.large_sells), (0, 1));
        assert_eq!(c.imbalance(), Some(-0.5));
        // a trade two minutes later closes minute 0 and the empty minute 1
        assert_eq!(f.update(125_000, 100.0, 6.0, false).unwrap(), 2);
        let closed: Vec<_> = f.closed().iter().copied().collect();
        assert_eq!(closed.len(), 2);
        assert_eq!(closed[1].open_time, 60_000);
        assert_eq!((closed[1].volume(), closed[1].cvd), (0.0, -8.0));
        assert_eq!(closed[1].imbalance(), None);
        assert_eq!(f.current().unwrap().cvd, -2.0);
        // vpin: bucket 1 = buy 4 / sell 6 (2), bucket 2 = sell 6 / buy 4 (2) -> 4/20
        assert_eq!(f.vpin(), Some(0.2));
        assert_eq!(f.flush(180_000), 1);
        assert_eq!(f.current().unwrap().open_time, 180_000);
        assert_eq!(f.closed().len(), 3);
    }

    #[test]
    fn late_trades_and_bad_input() {
        let mut f = flow();
        f.update(61_000, 10.0, 1.0, false).unwrap();
        f.update(59_000, 10.0, 1.0, true).unwrap();
        assert_eq!(f.late_trades(), 1);
        assert_eq!(f.current().unwrap().volume(), 2.0);
        assert!(f.update(1, -1.0, 1.0, true).is_err());
        assert!(f.update(1, 1.0, f64::NAN, true).is_err());
        assert_eq!(f.trades(), 2);
        let bad = FlowConfig { interval_ms: 0, ..f.config() };
        assert!(OrderFlow::new(bad).is_err());
    }
}
