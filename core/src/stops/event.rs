//! What the stop tracker reports. Prices in ticks, quantities in steps.

/// Why a stop moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdjustReason {
    BreakEven,
    TrailingPercent,
    Chandelier,
    Manual,
}

impl AdjustReason {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BreakEven => "BreakEven",
            Self::TrailingPercent => "TrailingPercent",
            Self::Chandelier => "Chandelier",
            Self::Manual => "Manual",
        }
    }
}

/// Why a trade closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The initial (or a manually set) stop.
    StopLoss,
    /// A stop moved by a trailing rule (percent or chandelier).
    TrailingStop,
    /// The stop moved to break-even.
    BreakEvenStop,
    /// The last take-profit level sold what was left.
    TakeProfit,
    TimeStop,
    Manual,
}

impl CloseReason {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopLoss => "StopLoss",
            Self::TrailingStop => "TrailingStop",
            Self::BreakEvenStop => "BreakEvenStop",
            Self::TakeProfit => "TakeProfit",
            Self::TimeStop => "TimeStop",
            Self::Manual => "Manual",
        }
    }
}

/// One event of the stop tracker. For every position, the quantities of its
/// `PartialExit`s plus its `TradeClosed` add up to the initial quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopEvent {
    SlAdjusted { position_id: u64, old_stop: i64, new_stop: i64, reason: AdjustReason, ts: i64 },
    PartialExit { position_id: u64, level: u8, fraction_ppm: u32, qty: i64, price: i64, ts: i64 },
    TradeClosed { position_id: u64, reason: CloseReason, price: i64, qty: i64, ts: i64 },
}

impl StopEvent {
    #[must_use]
    pub fn position_id(&self) -> u64 {
        match *self {
            Self::SlAdjusted { position_id, .. }
            | Self::PartialExit { position_id, .. }
            | Self::TradeClosed { position_id, .. } => position_id,
        }
    }
}
