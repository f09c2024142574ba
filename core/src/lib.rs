//! AVD's Rust core: candle buffers, streaming indicators, pattern analysis,
//! context scoring and signal evaluation.
//!
//! Everything here is pure Rust and knows nothing of Python; the `PyO3` mirror
//! lives in `python/` and is compiled only with the `python` feature.
pub mod backtest;
pub mod candles;
pub mod config;
pub mod engine;
pub mod error;
pub mod fills;
pub mod history;
pub mod indicators;
pub mod levels;
pub mod orderbook;
pub mod orderflow;
pub mod patterns;
pub mod regimes;
pub mod risk;
pub mod scoring;
pub mod signals;
pub(crate) mod simd;
pub mod stops;

#[cfg(feature = "python")]
mod python;
