//! Candle history files: reading the CSV formats AVD accepts into columns.
pub mod candle_file;

pub use candle_file::{parse_candle_csv, read_candle_file, CandleColumns};
