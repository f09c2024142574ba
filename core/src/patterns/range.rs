//! Range / chop: ADX below a threshold and the close inside the previous
//! channel: no direction worth trading.
use super::{unit, Direction, Features, Pattern, PatternReading};
use crate::config::PatternConfig;

/// A range, or `None`. Strength grows as ADX falls towards 0.
#[must_use]
pub fn detect(f: &Features, cfg: &PatternConfig) -> Option<PatternReading> {
    let inside = f.close <= f.channel_high && f.close >= f.channel_low;
    if !(f.adx < cfg.range_adx_max && inside) {
        return None;
    }
    let strength = unit((cfg.range_adx_max - f.adx) / cfg.range_adx_max);
    Some(PatternReading { pattern: Pattern::Range, direction: Direction::Neutral, strength })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_adx_inside_the_channel_is_a_range() {
        let cfg = PatternConfig::default();
        let mut f = Features::neutral(100.0);
        f.channel_high = 101.0;
        f.channel_low = 99.0;
        f.adx = 10.0;
        let r = detect(&f, &cfg).unwrap();
        assert_eq!((r.pattern, r.direction), (Pattern::Range, Direction::Neutral));
        assert!((r.strength - 0.5).abs() < 1e-12);
        f.adx = 30.0;
        assert!(detect(&f, &cfg).is_none());
    }
}
