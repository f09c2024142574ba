//! The one trait every streaming indicator implements.

/// A streaming indicator: O(1) work per [`Indicator::update`].
///
/// Definitions, seeding and warm-up follow TA-Lib, so that feeding a series
/// bar by bar gives TA-Lib's batch output bar for bar (NaN during warm-up).
pub trait Indicator {
    /// What one bar feeds in (`f64`, or a small struct such as [`Hlc`]).
    type Input: Copy;
    /// What the indicator reports (`f64`, or a small struct of outputs).
    type Output: Copy;

    /// Feeds one bar and returns the output after it (NaN fields until ready).
    fn update(&mut self, input: Self::Input) -> Self::Output;
    /// The output after the last update (NaN fields until ready).
    fn value(&self) -> Self::Output;
    /// Whether the main output is past its warm-up.
    fn is_ready(&self) -> bool;
    /// Forgets every bar seen, keeping the parameters.
    fn reset(&mut self);
    /// Bars consumed before the first ready output (TA-Lib's lookback).
    fn lookback(&self) -> usize;
}

/// High, low and close of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hlc {
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// High and low of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HighLow {
    pub high: f64,
    pub low: f64,
}

/// Close and volume of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloseVolume {
    pub close: f64,
    pub volume: f64,
}

/// High, low, close and volume of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HlcVolume {
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}
