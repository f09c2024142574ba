//! Backtesting: the signal-array mode (`from_signals`) and the statistics
//! every mode reports. The event-driven strategy backtester (the live
//! decision engine on history) builds on the same statistics.
pub mod from_signals;
pub mod stats;

pub use from_signals::{from_signals, SignalBacktest, SignalInputs, SignalOptions, Trade, TradeExit};
pub use stats::{compute_stats, Stats};
