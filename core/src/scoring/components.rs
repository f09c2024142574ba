//! The sub-scores that explain a context score.

/// Sub-scores, each 0..100, measured in the direction of the setup (for a
/// short setup, "momentum 80" means strong downward momentum).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Components {
    /// ADX strength, weighted by how many of EMA order and DI order agree
    /// with the direction.
    pub trend: f64,
    /// RSI distance from 50 and the MACD histogram, in the direction.
    pub momentum: f64,
    /// Volatility contraction: 100 at the narrowest Bollinger width of the
    /// lookback, 0 at the widest.
    pub volatility: f64,
    /// Volume surprise: the volume z-score, full at 4.
    pub volume: f64,
    /// Close beyond the previous channel, in ATRs, in the direction.
    pub breakout: f64,
    /// Order flow: OBV against its EMA, and the kline delta's share of the
    /// volume over `indicators.flow_window` candles (the CVD's change) when
    /// the data has the taker-buy volume.
    pub flow: f64,
}

impl Components {
    /// Component names, in the order of [`Components::to_array`].
    pub const NAMES: [&'static str; 6] = ["trend", "momentum", "volatility", "volume", "breakout", "flow"];

    /// The values in the order of [`Components::NAMES`].
    #[must_use]
    pub fn to_array(&self) -> [f64; 6] {
        [self.trend, self.momentum, self.volatility, self.volume, self.breakout, self.flow]
    }

    /// From values in the order of [`Components::NAMES`].
    #[must_use]
    pub fn from_array(a: [f64; 6]) -> Self {
        Self { trend: a[0], momentum: a[1], volatility: a[2], volume: a[3], breakout: a[4], flow: a[5] }
    }
}
