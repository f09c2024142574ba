//! Breakout: the close leaves the channel of the previous N bars (Donchian,
//! the current bar excluded) on a volume z-score above a threshold.
use super::{unit, Direction, Features, Pattern, PatternReading};
use crate::config::PatternConfig;

/// A breakout up or down, or `None`.
///
/// Strength is half the distance beyond the channel (in ATRs, full at
/// `breakout_atr_full`) and half the volume surprise (full at twice
/// `breakout_volume_z`).
#[must_use]
pub fn detect(f: &Features, cfg: &PatternConfig) -> Option<PatternReading> {
    if f.volume_z < cfg.breakout_volume_z {
        return None;
    }
    let (direction, distance) = if f.close > f.channel_high {
        (Direction::Long, f.close - f.channel_high)
    } else if f.close < f.channel_low {
        (Direction::Short, f.channel_low - f.close)
    } else {
        return None;
    };
    let reach = unit(distance / (f.atr * cfg.breakout_atr_full));
    let surprise = unit(f.volume_z / (2.0 * cfg.breakout_volume_z));
    Some(PatternReading { pattern: Pattern::Breakout, direction, strength: 0.5 * reach + 0.5 * surprise })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_both_the_close_beyond_the_channel_and_unusual_volume() {
        let cfg = PatternConfig::default();
        let mut f = Features::neutral(100.0);
        f.channel_high = 101.0;
        f.channel_low = 99.0;
        f.atr = 1.0;
        f.close = 102.0;
        f.volume_z = 1.0;
        assert!(detect(&f, &cfg).is_none(), "volume too ordinary");
        f.volume_z = 4.0;
        let r = detect(&f, &cfg).unwrap();
        assert_eq!((r.pattern, r.direction), (Pattern::Breakout, Direction::Long));
        assert!((r.strength - 1.0).abs() < 1e-12, "1 ATR beyond, z twice the threshold");
        f.close = 98.5;
        let r = detect(&f, &cfg).unwrap();
        assert_eq!(r.direction, Direction::Short);
        assert!((r.strength - 0.75).abs() < 1e-12);
        f.close = 100.0;
        assert!(detect(&f, &cfg).is_none(), "inside the channel");
    }
}
