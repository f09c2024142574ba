//! Streaming indicators (one file each) and their batch forms.
pub mod indicator;

pub use indicator::{CloseVolume, HighLow, Hlc, HlcVolume, Indicator};
pub mod scratch;
pub use scratch::{Adx, Atr, BBands, Donchian, Ema, Macd, Obv, Rsi, ZScore};
