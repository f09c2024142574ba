//! The local order book and its analytics.
//!
//! * [`ticks`]: exact prices and quantities (integers of 10⁻⁸) parsed from
//!   Binance's decimal strings, and back to the nearest double.
//! * [`side`]: one side's price levels, best first: a ladder indexed by
//!   tick around the touch, a sorted map beyond it.
//! * [`sync`]: Binance's procedure for following the depth diff stream
//!   (stale / straddle / gap).
//! * [`message`]: a raw websocket depth message parsed in place.
//! * [`book`]: [`OrderBook`], the two sides kept by that procedure.
//! * [`analytics`]: spread, mid, imbalance, microprice, depth near the mid.
//! * [`ofi`]: order-flow imbalance (Cont, Kukanov & Stoikov 2014) per update.
//! * [`replay`]: many raw messages in one call, parsed on two threads
//!   while the calling thread applies them in order.
pub mod analytics;
pub mod book;
pub mod message;
pub mod ofi;
pub mod replay;
pub mod side;
pub mod sync;
pub mod ticks;

pub use book::{parse_level, parse_levels, parse_levels_into, OrderBook};
pub use message::parse_depth_message;
pub use ofi::{ofi_event, OfiAccumulator};
pub use side::{BookSide, Level, Side, DEFAULT_WINDOW};
pub use sync::{DiffAction, SyncState, UpdateIds};
