//! The fill model shared by the backtester, the paper exchange and the
//! simulator: exact decimals and Binance's filters in integer units, fees,
//! slippage, latency, the intrabar path, and market / limit / stop orders.
//!
//! Prices are `i64` ticks, quantities `i64` steps, notionals and fees `i128`
//! atoms (see [`filters`]); nothing that is money goes through f64.
pub mod bps;
pub mod decimal;
pub mod fees;
pub mod filters;
pub mod intrabar;
pub mod model;
pub mod order;
pub mod slippage;

pub use bps::Bps;
pub use decimal::Dec;
pub use fees::{Commission, FeeAsset, FeeSchedule, Liquidity};
pub use filters::{FilterKind, FilterSpec, FilterViolation, Rounding, SymbolFilters};
pub use intrabar::{Bar, IntrabarPath, PricePoint};
pub use model::{Execution, FillConfig, FillModel, LimitFill};
pub use order::{Fill, Order, OrderKind, OrderStatus, SimOrder};
pub use slippage::Slippage;
