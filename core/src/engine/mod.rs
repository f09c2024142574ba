//! The `MarketEngine`: every symbol's buffers, indicators, scorer and
//! evaluator, fed one kline or a batch of klines at a time.
pub mod batch;
pub mod market_engine;
pub mod symbol_state;

pub use batch::{BatchColumns, BatchEvents, BatchOutput, KlineColumns};
pub use market_engine::{MarketEngine, StreamId};
pub use symbol_state::{KlineStep, SymbolState};
