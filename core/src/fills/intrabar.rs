//! Bars (candles in ticks and steps) and the path price takes inside one.
//!
//! A bar is replayed as four points — open, two extremes, close — joined by
//! straight moves that visit every price in between. Which extreme comes
//! first is the [`IntrabarPath`] rule. The points are timed at
//! `open_time`, `open_time + span/3`, `open_time + 2·span/3` and
//! `close_time` (`span = close_time - open_time`), which is what latency is
//! measured against.

/// One candle in integer units: prices in ticks, volume in steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bar {
    pub open_time: i64,
    /// Binance's close time: `open_time + interval - 1`.
    pub close_time: i64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    /// Base volume in steps (0: unknown).
    pub volume: i64,
}

/// One observed price: a trade, a tick, or a point of a bar's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PricePoint {
    pub ts: i64,
    pub price: i64,
    /// Base volume traded at this point, in steps (0: unknown).
    pub volume: i64,
}

/// Which extreme of a bar is visited first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IntrabarPath {
    /// Bullish bar (close >= open): open → low → high → close; bearish:
    /// open → high → low → close. The default (as in most backtesters: a bar
    /// that closed up most likely dipped first).
    #[default]
    Direction,
    /// Always open → high → low → close.
    HighFirst,
    /// Always open → low → high → close.
    LowFirst,
    /// The extreme nearer to the open first (ties: low first).
    NearestFirst,
}

impl IntrabarPath {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direction => "direction",
            Self::HighFirst => "high_first",
            Self::LowFirst => "low_first",
            Self::NearestFirst => "nearest_first",
        }
    }

    /// Parses the names of [`Self::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Direction, Self::HighFirst, Self::LowFirst, Self::NearestFirst].into_iter().find(|p| p.as_str() == s)
    }

    /// Whether the low is visited before the high.
    #[must_use]
    pub fn low_first(self, bar: &Bar) -> bool {
        match self {
            Self::Direction => bar.close >= bar.open,
            Self::HighFirst => false,
            Self::LowFirst => true,
            Self::NearestFirst => bar.open - bar.low <= bar.high - bar.open,
        }
    }

    /// The four points of the path (volume left 0: the bar carries it).
    #[must_use]
    pub fn points(self, bar: &Bar) -> [PricePoint; 4] {
        let span = (bar.close_time - bar.open_time).max(0);
        let (a, b) = if self.low_first(bar) { (bar.low, bar.high) } else { (bar.high, bar.low) };
        let p = |ts, price| PricePoint { ts, price, volume: 0 };
        [
            p(bar.open_time, bar.open),
            p(bar.open_time + span / 3, a),
            p(bar.open_time + 2 * span / 3, b),
            p(bar.open_time + span, bar.close),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(o: i64, h: i64, l: i64, c: i64) -> Bar {
        Bar { open_time: 0, close_time: 59_999, open: o, high: h, low: l, close: c, volume: 0 }
    }

    #[test]
    fn direction_rule_and_timing() {
        let up = IntrabarPath::Direction.points(&bar(100, 110, 95, 105));
        assert_eq!(up.map(|p| p.price), [100, 95, 110, 105]);
        // span 59_999: points at 0, 19_999, 39_999, 59_999.
        assert_eq!(up.map(|p| p.ts), [0, 19_999, 39_999, 59_999]);
        let down = IntrabarPath::Direction.points(&bar(100, 110, 95, 98));
        assert_eq!(down.map(|p| p.price), [100, 110, 95, 98]);
        assert_eq!(IntrabarPath::HighFirst.points(&bar(100, 110, 95, 105)).map(|p| p.price), [100, 110, 95, 105]);
        // Nearest: the high (3 away) before the low (5 away).
        assert_eq!(IntrabarPath::NearestFirst.points(&bar(100, 103, 95, 99)).map(|p| p.price), [100, 103, 95, 99]);
    }
}
