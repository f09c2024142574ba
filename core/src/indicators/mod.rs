//! Streaming indicators (one file each) and their batch forms.
//!
//! Every TA-Lib indicator here reproduces TA-Lib 0.6 (default compatibility,
//! no unstable period) bit for bit: same seeding, warm-up and floating-point
//! operation order. Each file holds the streaming type (implementing
//! [`Indicator`], O(1) per bar) and the batch function over slices, which
//! returns one value per input with NaN through the warm-up and handles
//! leading NaNs as the TA-Lib Python wrapper does (computation starts at the
//! first bar whose inputs are all non-NaN). Streaming and batch give
//! bitwise-identical values.
pub mod indicator;

mod compat;
mod rolling_extreme;
mod window;

pub mod adx;
pub mod atr;
pub mod bbands;
pub mod donchian;
pub mod ema;
pub mod macd;
pub mod obv;
pub mod roc;
pub mod rsi;
pub mod sma;
pub mod stddev;
pub mod stoch;
pub mod vwap;
pub mod wma;
pub mod zscore;

pub use adx::{adx, minus_di, plus_di, Adx, AdxOutput};
pub use atr::{atr, Atr};
pub use bbands::{bbands, BBands, BBandsOutput, BBandsSeries};
pub use donchian::{donchian, Donchian, DonchianOutput, DonchianSeries};
pub use ema::{ema, Ema};
pub use indicator::{CloseVolume, HighLow, Hlc, HlcVolume, Indicator};
pub use macd::{macd, Macd, MacdOutput, MacdSeries};
pub use obv::{obv, Obv};
pub use roc::{roc, Roc};
pub use rsi::{rsi, Rsi};
pub use sma::{sma, Sma};
pub use stddev::{stddev, StdDev};
pub use stoch::{stoch, Stoch, StochOutput, StochSeries};
pub use vwap::{vwap, Vwap};
pub use wma::{wma, Wma};
pub use zscore::{zscore, ZScore};
