//! Orders, fills, and `SimOrder`: one order's life in the simulation.
//!
//! Rules (the fill model's contract, shared by backtester, paper exchange
//! and simulator):
//! - **Latency**: an order sent at `t` sees its first price at the first
//!   point with `ts >= t + latency`; everything before is ignored.
//! - **Market**: fills in full at that first price, as taker, plus slippage.
//! - **Limit**: if marketable when it arrives (a BUY at or above the price,
//!   a SELL at or below) it takes at the price plus slippage, never beyond
//!   its limit. Otherwise it rests and fills as maker AT its limit once the
//!   price trades through it (strictly beyond; or merely touches, with
//!   [`LimitFill::Touch`]). With a volume-share cap a resting fill takes at
//!   most `floor(volume × share)` of a bar (or a point with known volume),
//!   the rest stays open: partial fills.
//! - **Stop-market / stop-limit**: triggered when the price reaches the stop
//!   (a SELL stop at or below, a BUY stop at or above). The trigger price is
//!   the stop itself when the price moved there continuously (inside a bar),
//!   or the observed price when it jumped there (a gap, or a bare price
//!   point). A stop-market then takes at the trigger price plus slippage; a
//!   stop-limit becomes a limit order at that moment (marketable or resting
//!   as above).
//! - At most one fill per bar or point.
use super::fees::{Commission, Liquidity};
use super::filters::{FilterViolation, SymbolFilters};
use super::intrabar::{Bar, PricePoint};
use super::model::{FillConfig, LimitFill};
use crate::signals::Side;

/// What kind of order; prices in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    Market,
    Limit { price: i64 },
    StopMarket { stop: i64 },
    StopLimit { stop: i64, limit: i64 },
}

impl OrderKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Market => "MARKET",
            Self::Limit { .. } => "LIMIT",
            Self::StopMarket { .. } => "STOP_LOSS",
            Self::StopLimit { .. } => "STOP_LOSS_LIMIT",
        }
    }
}

/// An order: quantity in steps, send time in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    pub side: Side,
    pub kind: OrderKind,
    pub qty: i64,
    pub sent_at: i64,
}

impl Order {
    /// Checks the order against the symbol's filters, as Binance would on
    /// submission: `LOT_SIZE` always; `PRICE_FILTER` and NOTIONAL at the limit
    /// price (limit, stop-limit) or the stop price (stop-market).
    ///
    /// # Errors
    /// The first filter violated.
    pub fn check(&self, filters: &SymbolFilters) -> Result<(), FilterViolation> {
        match self.kind {
            OrderKind::Market => filters.check_qty(self.qty),
            OrderKind::Limit { price } | OrderKind::StopLimit { limit: price, .. } => filters.check(price, self.qty),
            OrderKind::StopMarket { stop } => filters.check(stop, self.qty),
        }
    }
}

/// One execution: price in ticks, quantity in steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fill {
    pub ts: i64,
    pub price: i64,
    pub qty: i64,
    pub liquidity: Liquidity,
    pub commission: Commission,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Not filled at all (waiting for latency, its trigger, or its price).
    Open,
    PartiallyFilled,
    Filled,
}

impl OrderStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "NEW",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
        }
    }
}

/// An order working in the simulation, fed prices one point or bar at a
/// time (the paper exchange), or a whole path (the backtester).
#[derive(Debug, Clone, PartialEq)]
pub struct SimOrder {
    pub(crate) filters: SymbolFilters,
    pub(crate) order: Order,
    pub(crate) arrive_at: i64,
    arrived: bool,
    triggered: bool,
    /// The limit price while a limit rests on the book.
    resting: Option<i64>,
    remaining: i64,
}

impl SimOrder {
    pub(crate) fn new(filters: SymbolFilters, order: Order, latency_ms: i64) -> Self {
        Self {
            filters,
            order,
            arrive_at: order.sent_at.saturating_add(latency_ms),
            arrived: false,
            triggered: false,
            resting: None,
            remaining: order.qty,
        }
    }

    #[must_use]
    pub fn order(&self) -> &Order {
        &self.order
    }

    /// When the order reaches the (simulated) exchange.
    #[must_use]
    pub fn arrive_at(&self) -> i64 {
        self.arrive_at
    }

    /// Steps still to fill.
    #[must_use]
    pub fn remaining(&self) -> i64 {
        self.remaining
    }

    #[must_use]
    pub fn filled(&self) -> i64 {
        self.order.qty - self.remaining
    }

    #[must_use]
    pub fn status(&self) -> OrderStatus {
        if self.remaining == 0 {
            OrderStatus::Filled
        } else if self.remaining < self.order.qty {
            OrderStatus::PartiallyFilled
        } else {
            OrderStatus::Open
        }
    }

    /// Whether a stop order has triggered (always false for others).
    #[must_use]
    pub fn triggered(&self) -> bool {
        self.triggered
    }

    /// One observed price (a jump from wherever the price was before).
    pub fn on_point(&mut self, cfg: &FillConfig, p: PricePoint) -> Option<Fill> {
        self.step(cfg, p.ts, p.price, None, p.volume)
    }

    /// One bar, replayed along the configured intrabar path.
    pub fn on_bar(&mut self, cfg: &FillConfig, bar: &Bar) -> Option<Fill> {
        let mut prev: Option<i64> = None;
        for p in cfg.intrabar.points(bar) {
            // The move from the previous point is continuous only if the
            // order was already there to see it.
            let from = if p.ts >= self.arrive_at && self.arrived { prev } else { None };
            if let Some(f) = self.step(cfg, p.ts, p.price, from, bar.volume) {
                return Some(f);
            }
            prev = Some(p.price);
        }
        None
    }

    fn step(&mut self, cfg: &FillConfig, ts: i64, price: i64, from: Option<i64>, volume: i64) -> Option<Fill> {
        if self.remaining == 0 || ts < self.arrive_at {
            return None;
        }
        let first = !self.arrived;
        self.arrived = true;
        let side = self.order.side;
        match self.order.kind {
            OrderKind::Market => Some(self.take(cfg, ts, price, None, volume)),
            OrderKind::Limit { price: limit } if first => self.activate(cfg, ts, price, limit, volume),
            OrderKind::StopMarket { stop } | OrderKind::StopLimit { stop, .. } if !self.triggered => {
                let hit = match side {
                    Side::Buy => price >= stop,
                    Side::Sell => price <= stop,
                };
                if !hit {
                    return None;
                }
                self.triggered = true;
                // Continuous move: the price passed through the stop itself.
                let at = if from.is_some() { stop } else { price };
                match self.order.kind {
                    OrderKind::StopLimit { limit, .. } => self.activate(cfg, ts, at, limit, volume),
                    _ => Some(self.take(cfg, ts, at, None, volume)),
                }
            }
            _ => {
                let limit = self.resting?;
                let through = match (side, cfg.limit_fill) {
                    (Side::Buy, LimitFill::TradeThrough) => price < limit,
                    (Side::Buy, LimitFill::Touch) => price <= limit,
                    (Side::Sell, LimitFill::TradeThrough) => price > limit,
                    (Side::Sell, LimitFill::Touch) => price >= limit,
                };
                if !through {
                    return None;
                }
                let qty = match cfg.max_volume_share {
                    Some(share) if volume > 0 => {
                        let (n, d) = share.fraction();
                        let cap = i64::try_from(i128::from(volume) * n / d).unwrap_or(i64::MAX);
                        self.remaining.min(cap)
                    }
                    _ => self.remaining,
                };
                if qty == 0 {
                    return None;
                }
                Some(self.fill(cfg, ts, limit, qty, Liquidity::Maker))
            }
        }
    }

    /// A limit becomes live at `at`: takes if marketable, else rests.
    fn activate(&mut self, cfg: &FillConfig, ts: i64, at: i64, limit: i64, volume: i64) -> Option<Fill> {
        let marketable = match self.order.side {
            Side::Buy => at <= limit,
            Side::Sell => at >= limit,
        };
        if marketable {
            Some(self.take(cfg, ts, at, Some(limit), volume))
        } else {
            self.resting = Some(limit);
            None
        }
    }

    fn take(&mut self, cfg: &FillConfig, ts: i64, at: i64, limit: Option<i64>, volume: i64) -> Fill {
        let qty = self.remaining;
        let mut price = cfg.slippage.apply(self.order.side, at, qty, volume);
        if let Some(l) = limit {
            price = match self.order.side {
                Side::Buy => price.min(l),
                Side::Sell => price.max(l),
            };
        }
        self.fill(cfg, ts, price, qty, Liquidity::Taker)
    }

    fn fill(&mut self, cfg: &FillConfig, ts: i64, price: i64, qty: i64, liquidity: Liquidity) -> Fill {
        self.remaining -= qty;
        let commission = cfg.fees.commission(&self.filters, self.order.side, price, qty, liquidity);
        Fill { ts, price, qty, liquidity, commission }
    }
}
