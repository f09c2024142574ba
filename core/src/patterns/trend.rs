//! Trend: ADX at or above a threshold, with the direction of the slow EMA's
//! slope (confirmed by the fast EMA on the same side of the slow one).
use super::{unit, Direction, Features, Pattern, PatternReading};
use crate::config::PatternConfig;

/// An up or down trend, or `None`.
///
/// Strength rises linearly from 0 at `trend_adx_min` to 1 at `adx_strong`.
#[must_use]
pub fn detect(f: &Features, cfg: &PatternConfig) -> Option<PatternReading> {
    // NaN ADX (warming up) is no trend either
    if f.adx.is_nan() || f.adx < cfg.trend_adx_min {
        return None;
    }
    let slope = Direction::of(f.ema_slow - f.ema_slow_prev);
    if slope == Direction::Neutral || Direction::of(f.ema_fast - f.ema_slow) != slope {
        return None;
    }
    let strength = unit((f.adx - cfg.trend_adx_min) / (cfg.adx_strong - cfg.trend_adx_min));
    Some(PatternReading { pattern: Pattern::Trend, direction: slope, strength })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_adx_with_a_rising_slow_ema_is_an_uptrend() {
        let cfg = PatternConfig::default();
        let mut f = Features::neutral(100.0);
        f.adx = 37.5;
        f.ema_fast = 101.0;
        f.ema_slow = 100.0;
        f.ema_slow_prev = 99.9;
        let r = detect(&f, &cfg).unwrap();
        assert_eq!((r.pattern, r.direction), (Pattern::Trend, Direction::Long));
        assert!((r.strength - 0.5).abs() < 1e-12);
        f.ema_slow_prev = 100.1;
        assert!(detect(&f, &cfg).is_none(), "slope and EMA order disagree");
        f.ema_fast = 99.0;
        assert_eq!(detect(&f, &cfg).unwrap().direction, Direction::Short);
        f.adx = 20.0;
        assert!(detect(&f, &cfg).is_none());
    }
}
