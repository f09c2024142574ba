//! The `ContextScorer`: weights the components into one 0..100 score.
//!
//! The direction comes from the dominant pattern; for a neutral pattern the
//! components are measured along the EMA order, but the context stays
//! neutral (and so never becomes a signal).
use super::Components;
use crate::config::{PatternConfig, ScoringConfig};
use crate::patterns::{unit, Direction, Features, PatternReading};

/// Volume z-score scored as a full 100.
const VOLUME_Z_FULL: f64 = 4.0;
/// RSI points away from 50 scored as full momentum.
const RSI_SPAN: f64 = 20.0;
/// MACD histogram, in ATRs, scored as full momentum.
const MACD_HIST_ATR_FULL: f64 = 0.25;
/// Kline delta share (`Σ delta / Σ volume` over the flow window) away from
/// 0 scored as full flow: 0.2, i.e. takers bought 60 % of the window's
/// volume (or sold 60 % of it).
const DELTA_SHARE_SPAN: f64 = 0.2;

/// Turns features and a pattern reading into components and a score.
#[derive(Debug, Clone)]
pub struct ContextScorer {
    /// Weights already divided by their sum.
    weights: [f64; 6],
    inv_adx_strong: f64,
    inv_breakout_atr_full: f64,
}

impl ContextScorer {
    #[must_use]
    pub fn new(scoring: &ScoringConfig, patterns: &PatternConfig) -> Self {
        let weights =
            [scoring.trend, scoring.momentum, scoring.volatility, scoring.volume, scoring.breakout, scoring.flow];
        let sum: f64 = weights.iter().sum();
        Self {
            weights: weights.map(|w| w / sum),
            inv_adx_strong: 1.0 / patterns.adx_strong,
            inv_breakout_atr_full: 1.0 / patterns.breakout_atr_full,
        }
    }

    /// The components of `f`, measured along `direction`.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    #[must_use]
    pub fn components(&self, f: &Features, direction: Direction) -> Components {
        let d = match direction {
            Direction::Neutral => Direction::of(f.ema_fast - f.ema_slow).sign(),
            other => other.sign(),
        };
        let agree = |x: f64| if x * d > 0.0 { 0.5 } else { 0.0 };
        let alignment = agree(f.ema_fast - f.ema_slow) + agree(f.plus_di - f.minus_di);
        let trend = 100.0 * unit(f.adx * self.inv_adx_strong) * alignment;

        let inv_atr = 1.0 / f.atr;
        let rsi_part = unit((f.rsi - 50.0) * d * (1.0 / RSI_SPAN));
        let macd_part = unit(f.macd_hist * d * inv_atr * (1.0 / MACD_HIST_ATR_FULL));
        let momentum = 100.0 * (0.5 * rsi_part + 0.5 * macd_part);

        let volatility = 100.0 * unit(1.0 - f.width_rank);
        let volume = 100.0 * unit(f.volume_z * (1.0 / VOLUME_Z_FULL));

        let beyond = if d > 0.0 { f.close - f.channel_high } else { f.channel_low - f.close };
        let breakout = 100.0 * unit(beyond * inv_atr * self.inv_breakout_atr_full);

        let obv_part = if (f.obv - f.obv_ema) * d > 0.0 { 1.0 } else { 0.0 };
        let flow = if f.delta_share.is_finite() {
            let delta_part = unit(f.delta_share * d * (1.0 / DELTA_SHARE_SPAN));
            100.0 * (0.5 * obv_part + 0.5 * delta_part)
        } else {
            100.0 * obv_part
        };
        Components { trend, momentum, volatility, volume, breakout, flow }
    }

    /// The weighted score, 0..100.
    #[must_use]
    pub fn score(&self, c: &Components) -> f64 {
        let v = c.to_array();
        let total: f64 = v.iter().zip(self.weights).map(|(x, w)| x * w).sum();
        total.clamp(0.0, 100.0)
    }

    /// Components and score for a pattern reading.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    #[must_use]
    pub fn evaluate(&self, f: &Features, reading: &PatternReading) -> (Components, f64) {
        let c = self.components(f, reading.direction);
        let s = self.score(&c);
        (c, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PatternConfig, ScoringConfig};

    #[test]
    fn a_textbook_long_breakout_scores_every_component_high() {
        let s = ContextScorer::new(&ScoringConfig::default(), &PatternConfig::default());
        let mut f = Features::neutral(100.0);
        f.adx = 50.0;
        f.ema_fast = 101.0;
        f.plus_di = 30.0;
        f.minus_di = 10.0;
        f.rsi = 70.0;
        f.macd_hist = 0.25;
        f.atr = 1.0;
        f.width_rank = 0.0;
        f.volume_z = 4.0;
        f.close = 102.0;
        f.channel_high = 101.0;
        f.obv = 1.0;
        let c = s.components(&f, Direction::Long);
        for v in c.to_array() {
            assert!((v - 100.0).abs() < 1e-9, "{c:?}");
        }
        assert!((s.score(&c) - 100.0).abs() < 1e-9);
        // the same bar read as a short setup scores low
        let short = s.components(&f, Direction::Short);
        assert!(s.score(&short) < 30.0, "{short:?}");
    }

    #[test]
    fn the_score_is_the_weighted_mean_of_the_components() {
        let cfg = ScoringConfig { trend: 1.0, momentum: 0.0, volatility: 0.0, volume: 3.0, breakout: 0.0, flow: 0.0 };
        let s = ContextScorer::new(&cfg, &PatternConfig::default());
        let c = Components { trend: 40.0, volume: 80.0, ..Components::default() };
        assert!((s.score(&c) - 70.0).abs() < 1e-12);
    }

    #[test]
    fn flow_is_obv_against_its_ema_and_the_windows_kline_delta() {
        let s = ContextScorer::new(&ScoringConfig::default(), &PatternConfig::default());
        let mut f = Features::neutral(100.0);
        f.obv = 1.0; // above its EMA (0): rising on-balance volume
                     // no taker-buy volume in the data: the OBV half alone, scaled to 100
        assert!((s.components(&f, Direction::Long).flow - 100.0).abs() < 1e-12);
        assert!(s.components(&f, Direction::Short).flow.abs() < 1e-12);
        // takers bought 55 % of the window's volume: delta share 0.1, half of the 0.2 span
        f.delta_share = 0.1;
        let long = s.components(&f, Direction::Long).flow;
        assert!((long - 100.0 * (0.5 * 1.0 + 0.5 * 0.5)).abs() < 1e-12, "{long}");
        // read as a short setup: OBV against it, the buying against it too
        assert!(s.components(&f, Direction::Short).flow.abs() < 1e-12);
        // sellers dominate past the span: the delta half is full for a short
        f.delta_share = -0.3;
        f.obv = -1.0;
        assert!((s.components(&f, Direction::Short).flow - 100.0).abs() < 1e-12);
    }
}
