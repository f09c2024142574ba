//! `TradeSignal {symbol, side, confidence 0..1, reason, generated_at}`.
use std::sync::Arc;

use super::{RuleEvent, SignalScore, Strategy};
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
    /// The named strategy that fired it (`EngineConfig::strategies`); None
    /// for the engine's primary strategy (`EngineConfig::strategy`).
    pub name: Option<Arc<str>>,
}

/// What a signal's explanation is made of: the features and components of
/// the bar that fired it. The sentence itself is formatted on demand
/// ([`TradeSignal::reason`]), not in the hot path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The context's direction.
    pub direction: Direction,
    pub features: Features,
    pub components: Components,
    /// What a strategy other than the context decided on (None for the
    /// context strategy).
    pub strategy: Option<StrategyEvidence>,
}

/// The strategy's score and the RSI/MACD rule events behind a signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrategyEvidence {
    pub score: SignalScore,
    /// The context's own score (in the context's direction).
    pub context_score: f64,
    /// The rules counting on the signal's side, in rule order.
    pub rules: [Option<RuleEvent>; 3],
    /// The stream's closed-bar count at the signal (to age the events).
    pub bar: u64,
}

impl TradeSignal {
    /// Human-readable explanation: the pattern and the numbers behind it
    /// (and, for the `rsi_macd` strategy and mixes, each rule that fired).
    #[must_use]
    pub fn reason(&self) -> String {
        match &self.evidence.strategy {
            None => super::evaluator::explain(self.pattern, self.score, &self.evidence),
            Some(s) => super::evaluator::explain_strategy(self.pattern, s, &self.evidence),
        }
    }

    /// The strategy that fired it.
    /// The name bots select it by: the named strategy's name, else the
    /// primary strategy's (`context`, `rsi_macd` or `mix`).
    #[must_use]
    pub fn strategy_name(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.strategy().as_str())
    }

    /// Whether the engine's primary strategy fired it.
    #[must_use]
    pub fn primary(&self) -> bool {
        self.name.is_none()
    }

    #[must_use]
    pub fn strategy(&self) -> Strategy {
        self.evidence.strategy.map_or(Strategy::Context, |s| s.score.strategy)
    }

    /// The RSI/MACD rules behind it (empty for the context strategy).
    pub fn rules(&self) -> impl Iterator<Item = &RuleEvent> {
        self.evidence.strategy.iter().flat_map(|s| s.rules.iter().flatten())
    }
}
