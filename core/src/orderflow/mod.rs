//! Order flow: who is crossing the spread, and how much.
//!
//! * [`cvd`]: cumulative volume delta of a batch of trades (exact side
//!   from Binance's `m` flag).
//! * [`flow`]: [`OrderFlow`], per-candle buy/sell volume, delta, CVD,
//!   trade imbalance, large trades and VPIN, one trade at a time.
//! * [`vpin`]: VPIN over equal-volume buckets.
//! * [`candle_delta`]: the delta and CVD of klines, from their taker-buy
//!   volume (history and backtests).
pub mod candle_delta;
pub mod cvd;
pub mod flow;
pub mod vpin;

pub use candle_delta::{candle_cvd_into, candle_delta_into};
pub use cvd::{cvd, cvd_into};
pub use flow::{CandleFlow, FlowConfig, OrderFlow};
pub use vpin::Vpin;
