//! The Fibonacci grid of one swing.
//!
//! For a swing from `low` to `high` (range `R = high - low`):
//!
//! * retracements `r` in 0.236, 0.382, 0.5, 0.618, 0.786: at `high - r*R`
//!   in an up trend (the swing rose, price pulls back down from the high),
//!   at `low + r*R` in a down trend;
//! * extensions `r` in 1.272, 1.618, beyond the swing's end: at `low + r*R`
//!   in an up trend (above the high), at `high - r*R` in a down trend
//!   (below the low).
use std::str::FromStr;

use crate::error::{CoreError, CoreResult};

/// The retracement ratios, ascending.
pub const RETRACEMENTS: [f64; 5] = [0.236, 0.382, 0.5, 0.618, 0.786];
/// The extension ratios, ascending.
pub const EXTENSIONS: [f64; 2] = [1.272, 1.618];

/// The direction of the swing the grid is drawn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// The swing went from its low up to its high.
    Up,
    /// The swing went from its high down to its low.
    Down,
}

impl FromStr for Trend {
    type Err = CoreError;

    fn from_str(s: &str) -> CoreResult<Self> {
        match s {
            "up" => Ok(Self::Up),
            "down" => Ok(Self::Down),
            _ => Err(CoreError::param("trend", format!("unknown trend {s:?}: use \"up\" or \"down\""))),
        }
    }
}

/// One line of the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FibLevel {
    pub ratio: f64,
    pub price: f64,
}

/// The grid: the retracements then the extensions, each ascending in ratio.
///
/// # Errors
/// [`CoreError::InvalidInput`] if a price is not finite or `high < low`.
pub fn fibonacci(high: f64, low: f64, trend: Trend) -> CoreResult<Vec<FibLevel>> {
    if !high.is_finite() || !low.is_finite() {
        return Err(CoreError::InvalidInput(format!("swing prices must be finite, got high {high}, low {low}")));
    }
    if high < low {
        return Err(CoreError::InvalidInput(format!("high_price < low_price: {high} < {low}")));
    }
    let range = high - low;
    let retrace = |r: f64| match trend {
        Trend::Up => high - r * range,
        Trend::Down => low + r * range,
    };
    let extend = |r: f64| match trend {
        Trend::Up => low + r * range,
        Trend::Down => high - r * range,
    };
    let out = RETRACEMENTS
        .iter()
        .map(|&r| FibLevel { ratio: r, price: retrace(r) })
        .chain(EXTENSIONS.iter().map(|&r| FibLevel { ratio: r, price: extend(r) }))
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices(levels: &[FibLevel]) -> Vec<f64> {
        levels.iter().map(|l| (l.price * 1e9).round() / 1e9).collect()
    }

    #[test]
    fn up_trend_grid_matches_hand_worked_values() {
        // low 100, high 200: range 100
        let g = fibonacci(200.0, 100.0, Trend::Up).unwrap();
        assert_eq!(g.iter().map(|l| l.ratio).collect::<Vec<_>>(), vec![0.236, 0.382, 0.5, 0.618, 0.786, 1.272, 1.618]);
        assert_eq!(prices(&g), vec![176.4, 161.8, 150.0, 138.2, 121.4, 227.2, 261.8]);
    }

    #[test]
    fn down_trend_grid_matches_hand_worked_values() {
        let g = fibonacci(200.0, 100.0, Trend::Down).unwrap();
        assert_eq!(prices(&g), vec![123.6, 138.2, 150.0, 161.8, 178.6, 72.8, 38.2]);
    }

    #[test]
    fn bad_swings_and_trends_are_refused() {
        assert!(fibonacci(100.0, 200.0, Trend::Up).unwrap_err().to_string().contains("high_price < low_price"));
        assert!(fibonacci(f64::NAN, 1.0, Trend::Up).is_err());
        assert!("sideways".parse::<Trend>().unwrap_err().to_string().contains("unknown trend"));
        // a flat swing is a degenerate but valid grid
        assert!(fibonacci(5.0, 5.0, Trend::Down).unwrap().iter().all(|l| l.price == 5.0));
    }
}
