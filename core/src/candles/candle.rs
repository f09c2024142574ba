//! One kline, as Binance sends it (minus the unused 12th field).

/// One candle. Prices and volumes are f64: candles feed indicator math only;
/// money at the exchange boundary is Decimal on the Python side.
///
/// Fields a source does not carry (`quote_volume`, `trades`,
/// `taker_buy_base`) are NaN, never zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candle {
    /// Open time, ms since the epoch (UTC).
    pub open_time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Base-asset volume.
    pub volume: f64,
    /// Quote-asset volume (NaN if unknown).
    pub quote_volume: f64,
    /// Number of trades (NaN if unknown).
    pub trades: f64,
    /// Base volume bought by takers (NaN if unknown).
    pub taker_buy_base: f64,
}

impl Candle {
    /// A candle with only OHLCV known.
    #[must_use]
    pub fn ohlcv(open_time: i64, open: f64, high: f64, low: f64, close: f64, volume: f64) -> Self {
        Self {
            open_time,
            open,
            high,
            low,
            close,
            volume,
            quote_volume: f64::NAN,
            trades: f64::NAN,
            taker_buy_base: f64::NAN,
        }
    }

    /// Whether the prices and volume are finite and consistent enough to
    /// feed the indicators: positive prices, `low <= open, close <= high`,
    /// volume >= 0.
    #[must_use]
    #[allow(clippy::needless_bitwise_bool)] // on purpose: no branches
    pub fn is_sane(&self) -> bool {
        // Branch-free (`&`, not `&&`): checked on every kline. A price is
        // finite and > 0 exactly when its bits minus one, as an unsigned
        // integer, are below those of +inf minus one (+0 wraps around;
        // negative values, infinities and NaNs have larger bits). The order
        // terms only matter once the prices passed (no NaN among them).
        let price = |p: f64| p.to_bits().wrapping_sub(1) < f64::INFINITY.to_bits() - 1;
        price(self.open)
            & price(self.high)
            & price(self.low)
            & price(self.close)
            & (self.volume >= 0.0)
            & (self.volume < f64::INFINITY)
            & (self.low <= self.open)
            & (self.low <= self.close)
            & (self.high >= self.open)
            & (self.high >= self.close)
    }

    /// Share of the volume bought by takers, NaN when unknown or volume is 0.
    #[must_use]
    pub fn taker_buy_share(&self) -> f64 {
        if self.volume > 0.0 {
            self.taker_buy_base / self.volume
        } else {
            f64::NAN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanity_rejects_inverted_and_non_finite_candles() {
        assert!(Candle::ohlcv(0, 10.0, 11.0, 9.0, 10.5, 1.0).is_sane());
        assert!(!Candle::ohlcv(0, 10.0, 9.0, 11.0, 10.5, 1.0).is_sane());
        assert!(!Candle::ohlcv(0, f64::NAN, 11.0, 9.0, 10.5, 1.0).is_sane());
        assert!(!Candle::ohlcv(0, 10.0, 11.0, 9.0, 10.5, -1.0).is_sane());
        assert!(!Candle::ohlcv(0, 10.0, f64::INFINITY, 9.0, 10.5, 1.0).is_sane());
    }

    /// The rule in plain float comparisons.
    fn sane(c: &Candle) -> bool {
        let price = |p: f64| p > 0.0 && p < f64::INFINITY;
        price(c.open)
            && price(c.high)
            && price(c.low)
            && price(c.close)
            && c.volume >= 0.0
            && c.volume < f64::INFINITY
            && c.low <= c.open.min(c.close)
            && c.high >= c.open.max(c.close)
    }

    #[test]
    fn sanity_is_the_plain_rule_on_special_values() {
        let specials = [
            0.0,
            -0.0,
            -1.0,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 4.0,
            0.5,
            1.0,
            2.0,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        let mut rejected = 0;
        for p in specials {
            // every price in turn at p, the others at 1
            for field in 0..4 {
                let mut c = Candle::ohlcv(0, 1.0, 1.0, 1.0, 1.0, 1.0);
                *[&mut c.open, &mut c.high, &mut c.low, &mut c.close][field] = p;
                assert_eq!(c.is_sane(), sane(&c), "field {field}: {p:e}");
                rejected += usize::from(!sane(&c));
            }
            let volume = Candle::ohlcv(0, 1.0, 1.0, 1.0, 1.0, p);
            assert_eq!(volume.is_sane(), sane(&volume), "volume {p:e}");
        }
        assert!(rejected > 30, "{rejected}");
        assert!(Candle::ohlcv(0, 1.0, 1.0, 1.0, 1.0, -0.0).is_sane(), "a volume of -0 is 0");
    }

    #[test]
    fn taker_share_is_nan_when_unknown() {
        let mut c = Candle::ohlcv(0, 1.0, 1.0, 1.0, 1.0, 4.0);
        assert!(c.taker_buy_share().is_nan());
        c.taker_buy_base = 1.0;
        assert!((c.taker_buy_share() - 0.25).abs() < 1e-15);
    }
}
