//! Backtesting: the signal-array mode (`from_signals`), the event-driven
//! strategy backtester (the live decision engine on history: `engine`,
//! `config`, `result`), parameter sweeps and walk-forward analysis
//! (`sweep`), and the statistics every mode reports (`stats`).
pub mod config;
pub mod engine;
pub mod from_signals;
pub mod result;
pub mod stats;
pub mod sweep;

pub use config::{BacktestConfig, FillsConfig, FilterConfig, IntrabarRule, StopsConfig, TakeProfitConfig};
pub use engine::{run_backtest, validate_series, LowerSeries, Series, Window};
pub use from_signals::{
    from_signals, from_signals_into, SignalBacktest, SignalInputs, SignalOptions, Trade, TradeExit,
};
pub use result::{BacktestResult, BacktestTrade, ExitReason, RunCounters};
pub use stats::{compute_stats, Stats};
pub use sweep::{run_sweep, walk_forward, SweepResult, SweepRow, SweepSpec, WalkForwardResult, WalkForwardWindow};
