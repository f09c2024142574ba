//! The stop tracker: fixed, trailing (percent and chandelier), break-even,
//! partial take-profits and time stops for thousands of positions, updated
//! on every price. Prices in ticks, quantities in steps (see `fills`).
pub mod event;
pub mod plan;
pub mod position;
pub mod tracker;

pub use event::{AdjustReason, CloseReason, StopEvent};
pub use plan::{StopPlan, TakeProfit, PPM};
pub use position::{PositionSide, StopKind};
pub use tracker::{NewPosition, PositionView, StopTracker, SymbolId};
