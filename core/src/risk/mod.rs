//! The risk manager's pure part: position sizing from the risk per trade.
pub mod sizing;

pub use sizing::{size_position, SizeCap, Sizing, SizingRefusal, SizingRequest, SizingRule};
