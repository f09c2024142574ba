//! Pattern analysis: what the market of one symbol is doing right now.
//!
//! Each detector is a pure function of the current [`Features`]; the
//! [`detect`] function runs them in priority order (breakout, accumulation /
//! distribution, trend, range) and returns the dominant pattern.
pub mod accumulation;
pub mod breakout;
pub mod features;
pub mod range;
pub mod trend;

pub use features::{FeatureSet, Features};

use crate::config::PatternConfig;

/// The market patterns AVD recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Pattern {
    /// Nothing recognised (or still warming up).
    #[default]
    None = 0,
    /// Volatility contraction inside a range, with buying pressure.
    Accumulation = 1,
    /// Volatility contraction inside a range, with selling pressure.
    Distribution = 2,
    /// Close beyond the previous channel on unusual volume.
    Breakout = 3,
    /// A directional move: ADX high, EMA sloping.
    Trend = 4,
    /// Range / chop: no direction (ADX low).
    Range = 5,
}

impl Pattern {
    /// Every pattern, in code order.
    pub const ALL: [Pattern; 6] =
        [Self::None, Self::Accumulation, Self::Distribution, Self::Breakout, Self::Trend, Self::Range];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Accumulation => "accumulation",
            Self::Distribution => "distribution",
            Self::Breakout => "breakout",
            Self::Trend => "trend",
            Self::Range => "range",
        }
    }

    /// The pattern with this numeric code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

/// Which way a setup points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i8)]
pub enum Direction {
    Short = -1,
    #[default]
    Neutral = 0,
    Long = 1,
}

impl Direction {
    /// +1.0, 0.0 or -1.0.
    #[must_use]
    pub fn sign(self) -> f64 {
        f64::from(self as i8)
    }

    /// The direction of a signed quantity (0 and NaN are neutral).
    #[must_use]
    pub fn of(x: f64) -> Self {
        if x > 0.0 {
            Self::Long
        } else if x < 0.0 {
            Self::Short
        } else {
            Self::Neutral
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Neutral => "neutral",
            Self::Long => "long",
        }
    }
}

/// One detector's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatternReading {
    pub pattern: Pattern,
    pub direction: Direction,
    /// How clear the pattern is, 0..1.
    pub strength: f64,
}

impl PatternReading {
    /// Nothing recognised.
    pub const NONE: Self = Self { pattern: Pattern::None, direction: Direction::Neutral, strength: 0.0 };
}

/// Clamps to 0..1 (NaN becomes 0).
#[inline]
#[must_use]
pub fn unit(x: f64) -> f64 {
    // two compare-and-selects, no branch (the sign is the data's coin
    // toss): NaN and x <= 0 give 0, x >= 1 (and +inf) gives 1
    let positive = if x > 0.0 { x } else { 0.0 };
    if positive < 1.0 {
        positive
    } else {
        1.0
    }
}

/// Runs the detectors in priority order and returns the dominant pattern.
#[inline(always)]
#[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
#[must_use]
pub fn detect(f: &Features, cfg: &PatternConfig) -> PatternReading {
    breakout::detect(f, cfg)
        .or_else(|| accumulation::detect(f, cfg))
        .or_else(|| trend::detect(f, cfg))
        .or_else(|| range::detect(f, cfg))
        .unwrap_or(PatternReading::NONE)
}
