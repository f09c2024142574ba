//! Accumulation (and its mirror, distribution): volatility contracts (the
//! Bollinger width sits low in its recent range), price holds inside the
//! previous channel, and volume flow leans one way (OBV above its EMA, or a
//! taker-buy share above `taker_share_min` when the data has it).
use super::{Direction, Features, Pattern, PatternReading};
use crate::config::PatternConfig;

/// The flow direction: OBV against its EMA, and the taker-buy share when known.
#[must_use]
pub fn flow_direction(f: &Features, cfg: &PatternConfig) -> Direction {
    if f.taker_share.is_finite() {
        if f.taker_share >= cfg.taker_share_min {
            return Direction::Long;
        }
        if f.taker_share <= 1.0 - cfg.taker_share_min {
            return Direction::Short;
        }
    }
    Direction::of(f.obv - f.obv_ema)
}

/// Accumulation (long) or distribution (short), or `None`.
///
/// Strength grows from 0.5 at the squeeze threshold to 1.0 at the narrowest
/// width of the lookback.
#[must_use]
pub fn detect(f: &Features, cfg: &PatternConfig) -> Option<PatternReading> {
    let squeezed = f.width_rank <= cfg.squeeze_rank_max;
    let holding = f.close <= f.channel_high && f.close >= f.channel_low;
    if !(squeezed && holding) {
        return None;
    }
    let direction = flow_direction(f, cfg);
    let pattern = match direction {
        Direction::Long => Pattern::Accumulation,
        Direction::Short => Pattern::Distribution,
        Direction::Neutral => return None,
    };
    let tightness = if cfg.squeeze_rank_max > 0.0 { 1.0 - f.width_rank / cfg.squeeze_rank_max } else { 1.0 };
    Some(PatternReading { pattern, direction, strength: 0.5 + 0.5 * tightness.clamp(0.0, 1.0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squeezed() -> Features {
        let mut f = Features::neutral(100.0);
        f.channel_high = 101.0;
        f.channel_low = 99.0;
        f.width_rank = 0.0;
        f.obv = 10.0;
        f.obv_ema = 5.0;
        f
    }

    #[test]
    fn squeeze_in_range_with_rising_obv_is_accumulation() {
        let cfg = PatternConfig::default();
        let r = detect(&squeezed(), &cfg).unwrap();
        assert_eq!((r.pattern, r.direction), (Pattern::Accumulation, Direction::Long));
        assert!((r.strength - 1.0).abs() < 1e-12);
    }

    #[test]
    fn falling_flow_is_distribution_and_taker_share_overrides_obv() {
        let cfg = PatternConfig::default();
        let mut f = squeezed();
        f.obv = 1.0;
        assert_eq!(detect(&f, &cfg).unwrap().pattern, Pattern::Distribution);
        f.taker_share = 0.7;
        assert_eq!(detect(&f, &cfg).unwrap().pattern, Pattern::Accumulation);
    }

    #[test]
    fn no_squeeze_or_price_outside_the_range_is_not_accumulation() {
        let cfg = PatternConfig::default();
        let mut f = squeezed();
        f.width_rank = 0.5;
        assert!(detect(&f, &cfg).is_none());
        let mut f = squeezed();
        f.close = 101.5;
        assert!(detect(&f, &cfg).is_none());
    }
}
