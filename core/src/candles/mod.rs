//! Candles: the kline record, Binance intervals, and the per-symbol ring buffer.
pub mod candle;
pub mod interval;
pub mod ring_buffer;

pub use candle::Candle;
pub use interval::Interval;
pub use ring_buffer::{BufferStats, CandleBuffer, PushOutcome};
