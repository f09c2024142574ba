//! Signals: when a context score becomes a trade signal.
pub mod evaluator;
pub mod trade_signal;

pub use evaluator::SignalEvaluator;
pub use trade_signal::{Evidence, Side, TradeSignal};
