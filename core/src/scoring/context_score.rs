//! The context of one symbol after a closed candle.
use std::sync::Arc;

use super::Components;
use crate::candles::Interval;
use crate::patterns::{Direction, Pattern};

/// `ContextScore {symbol, score 0..100, pattern, components, timestamp}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextScore {
    pub symbol: Arc<str>,
    pub interval: Interval,
    /// 0..100: how strong the current setup is, in `direction`.
    pub score: f64,
    pub direction: Direction,
    pub pattern: Pattern,
    /// How clear the pattern is, 0..1.
    pub pattern_strength: f64,
    pub components: Components,
    /// Close time of the candle that produced it (ms since the epoch, UTC).
    pub timestamp: i64,
    /// Close price of that candle.
    pub close: f64,
}
