//! `TradeSignal {symbol, side, confidence 0..1, reason, generated_at}`.
use std::sync::Arc;

use crate::candles::Interval;
use crate::patterns::{Direction, Features, Pattern};
use crate::scoring::Components;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// Binance's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }
}

/// A directional signal produced by the evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeSignal {
    pub symbol: Arc<str>,
    pub interval: Interval,
    pub side: Side,
    /// 0..1: the score that fired it, over 100.
    pub confidence: f64,
    /// The numbers behind the signal; [`TradeSignal::reason`] words them.
    pub evidence: Evidence,
    /// Close time of the candle that fired it (ms since the epoch, UTC).
    pub generated_at: i64,
    /// The score and pattern at that time.
    pub score: f64,
    pub pattern: Pattern,
    /// Close price of that candle.
    pub price: f64,
}

/// What a signal's explanation is made of: the features and components of
/// the bar that fired it. The sentence itself is formatted on demand
/// ([`TradeSignal::reason`]), not in the hot path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub direction: Direction,
    pub features: Features,
    pub components: Components,
}

impl TradeSignal {
    /// Human-readable explanation: the pattern and the numbers behind it.
    #[must_use]
    pub fn reason(&self) -> String {
        super::evaluator::explain(self.pattern, self.score, &self.evidence)
    }
}
