//! Signals: when a score becomes a trade signal, and which score (the
//! strategy: the context, the RSI/MACD rules, or a mix).
pub mod evaluator;
pub mod rules;
pub mod strategy;
pub mod trade_signal;

pub use evaluator::SignalEvaluator;
pub use rules::{RsiMacdRules, Rule, RuleEvent};
pub use strategy::{SignalScore, Strategy};
pub use trade_signal::{Evidence, Side, StrategyEvidence, TradeSignal};
