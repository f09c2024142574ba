//! The `SignalEvaluator`: a signal when the score crosses up through the entry
//! threshold in a direction, with hysteresis and a cooldown so that one
//! setup gives one signal.
//!
//! * Each side starts disarmed and arms only once its score is below the
//!   re-arm threshold (or the context points elsewhere): a score that is
//!   already high when the engine warms up is not a crossing.
//! * A side fires when it is armed, the context points its way, the score is
//!   at or above the entry threshold and no cooldown is running; firing
//!   disarms it and starts the cooldown: the next `cooldown_bars` closed
//!   bars fire nothing, on either side.
//!
//! The score is the context's ([`SignalEvaluator::evaluate`]) or, for the
//! `rsi_macd` strategy and mixes, the strategy's [`SignalScore`]
//! ([`SignalEvaluator::evaluate_strategy`]); the rules above are the same.
use std::fmt::Write as _;

use super::{Evidence, RsiMacdRules, Side, SignalScore, Strategy, StrategyEvidence, TradeSignal};
use crate::config::SignalConfig;
use crate::patterns::{Direction, Features, Pattern};
use crate::scoring::ContextScore;

/// Per symbol-interval signal state.
#[derive(Debug, Clone)]
pub struct SignalEvaluator {
    cfg: SignalConfig,
    long_armed: bool,
    short_armed: bool,
    cooldown_left: u32,
}

impl SignalEvaluator {
    #[must_use]
    pub fn new(cfg: &SignalConfig) -> Self {
        Self { cfg: cfg.clone(), long_armed: false, short_armed: false, cooldown_left: 0 }
    }

    /// Whether each side may fire now (`(long, short)`).
    #[must_use]
    pub fn armed(&self) -> (bool, bool) {
        (self.long_armed, self.short_armed)
    }

    /// Closed bars left before the next signal may fire.
    #[must_use]
    pub fn cooldown_left(&self) -> u32 {
        self.cooldown_left
    }

    /// Forgets the state (used after a reset of the symbol).
    pub fn reset(&mut self) {
        self.long_armed = false;
        self.short_armed = false;
        self.cooldown_left = 0;
    }

    /// The side that fires for a bar scoring `s` in `direction`, if any;
    /// moves the arming and the cooldown.
    #[inline]
    fn decide(&mut self, s: f64, direction: Direction) -> Option<Side> {
        if !(direction == Direction::Long && s >= self.cfg.rearm_threshold) {
            self.long_armed = true;
        }
        if !(direction == Direction::Short && s >= self.cfg.rearm_threshold) {
            self.short_armed = true;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            return None;
        }
        if s < self.cfg.entry_threshold {
            return None;
        }
        let side = match direction {
            Direction::Long if self.long_armed && self.cfg.long => {
                self.long_armed = false;
                Side::Buy
            }
            Direction::Short if self.short_armed && self.cfg.short => {
                self.short_armed = false;
                Side::Sell
            }
            _ => return None,
        };
        self.cooldown_left = self.cfg.cooldown_bars;
        Some(side)
    }

    /// Evaluates one closed bar's context; returns a signal if one fires.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub fn evaluate(&mut self, ctx: &ContextScore, f: &Features) -> Option<TradeSignal> {
        let s = ctx.score;
        let side = self.decide(s, ctx.direction)?;
        Some(TradeSignal {
            symbol: ctx.symbol.clone(),
            interval: ctx.interval,
            side,
            confidence: s / 100.0,
            evidence: Evidence { direction: ctx.direction, features: *f, components: ctx.components, strategy: None },
            generated_at: ctx.timestamp,
            score: s,
            pattern: ctx.pattern,
            price: ctx.close,
            name: None,
        })
    }

    /// Evaluates one closed bar's strategy score (the same thresholds,
    /// hysteresis and cooldown as [`SignalEvaluator::evaluate`] on the
    /// context score); the signal carries the rules that fired.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub fn evaluate_strategy(
        &mut self,
        ctx: &ContextScore,
        f: &Features,
        sig: &SignalScore,
        rules: &RsiMacdRules,
    ) -> Option<TradeSignal> {
        let side = self.decide(sig.score, sig.direction)?;
        let strategy = StrategyEvidence {
            score: *sig,
            context_score: ctx.score,
            rules: rules.active_on(sig.direction),
            bar: rules.bars(),
        };
        Some(TradeSignal {
            symbol: ctx.symbol.clone(),
            interval: ctx.interval,
            side,
            confidence: sig.score / 100.0,
            evidence: Evidence {
                direction: ctx.direction,
                features: *f,
                components: ctx.components,
                strategy: Some(strategy),
            },
            generated_at: ctx.timestamp,
            score: sig.score,
            pattern: ctx.pattern,
            price: ctx.close,
            name: None,
        })
    }
}

/// "breakout long: score 80.1; close 70110.5 above the channel high 70050 by 0.80 ATR on volume z 3.1 [...]"
pub(crate) fn explain(pattern: Pattern, score: f64, e: &Evidence) -> String {
    let f = &e.features;
    let dir = e.direction.as_str();
    let mut r = format!("{} {dir}: score {score:.1}", pattern.as_str());
    let _ = match pattern {
        Pattern::Breakout if e.direction == Direction::Long => write!(
            r,
            "; close {} above the channel high {} by {:.2} ATR on volume z {:.1}",
            f.close,
            f.channel_high,
            (f.close - f.channel_high) / f.atr,
            f.volume_z
        ),
        Pattern::Breakout => write!(
            r,
            "; close {} below the channel low {} by {:.2} ATR on volume z {:.1}",
            f.close,
            f.channel_low,
            (f.channel_low - f.close) / f.atr,
            f.volume_z
        ),
        Pattern::Accumulation | Pattern::Distribution => write!(
            r,
            "; Bollinger width at rank {:.2} of its range, close {} inside {}..{}",
            f.width_rank, f.close, f.channel_low, f.channel_high
        ),
        Pattern::Trend => write!(
            r,
            "; ADX {:.1}, fast EMA {:+.3}% from the slow EMA, which is {}",
            f.adx,
            100.0 * (f.ema_fast / f.ema_slow - 1.0),
            if f.ema_slow >= f.ema_slow_prev { "rising" } else { "falling" }
        ),
        Pattern::Range | Pattern::None => Ok(()),
    };
    let c = e.components;
    let _ = write!(
        r,
        " [trend {:.0}, momentum {:.0}, volatility {:.0}, volume {:.0}, breakout {:.0}, flow {:.0}]",
        c.trend, c.momentum, c.volatility, c.volume, c.breakout, c.flow
    );
    r
}

/// "`rsi_macd` long: score 80.0; RSI left oversold: ... (this bar); MACD crossed
/// above its signal line: ... (2 bars ago); context: trend short: score 61.2; ..."
pub(crate) fn explain_strategy(pattern: Pattern, s: &StrategyEvidence, e: &Evidence) -> String {
    let sig = &s.score;
    let mut r = format!("{} {}: score {:.1}", sig.strategy.as_str(), sig.direction.as_str(), sig.score);
    if let Strategy::Mix { .. } = sig.strategy {
        let (wc, wr) = sig.strategy.weights();
        let _ = write!(r, " = {wc:.2} x context {:.1} + {wr:.2} x rsi_macd {:.1}", sig.context, sig.rules);
    }
    for ev in s.rules.iter().flatten() {
        r.push_str("; ");
        ev.describe(s.bar, &mut r);
    }
    r.push_str("; context: ");
    r.push_str(&explain(pattern, s.context_score, e));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candles::Interval;
    use crate::scoring::Components;

    fn ctx(score: f64, direction: Direction) -> ContextScore {
        ContextScore {
            symbol: "BTCUSDT".into(),
            interval: Interval::M1,
            score,
            direction,
            pattern: Pattern::Trend,
            pattern_strength: 1.0,
            components: Components::default(),
            timestamp: 0,
            close: 100.0,
        }
    }

    fn run(cfg: &SignalConfig, seq: &[(f64, Direction)]) -> Vec<Option<Side>> {
        let mut e = SignalEvaluator::new(cfg);
        let f = Features::neutral(100.0);
        seq.iter().map(|&(s, d)| e.evaluate(&ctx(s, d), &f).map(|x| x.side)).collect()
    }

    #[test]
    fn a_score_already_high_at_start_is_not_a_crossing() {
        let cfg = SignalConfig { cooldown_bars: 0, ..SignalConfig::default() };
        let out = run(
            &cfg,
            &[(80.0, Direction::Long), (85.0, Direction::Long), (50.0, Direction::Long), (75.0, Direction::Long)],
        );
        assert_eq!(out, vec![None, None, None, Some(Side::Buy)]);
    }

    #[test]
    fn hysteresis_needs_a_dip_below_rearm_before_the_next_signal() {
        let cfg = SignalConfig { cooldown_bars: 0, ..SignalConfig::default() };
        let l = Direction::Long;
        // 60 is between re-arm (55) and entry (70): not enough to re-arm
        let out = run(&cfg, &[(50.0, l), (72.0, l), (60.0, l), (75.0, l), (54.0, l), (71.0, l)]);
        assert_eq!(out, vec![None, Some(Side::Buy), None, None, None, Some(Side::Buy)]);
    }

    #[test]
    fn cooldown_silences_the_next_bars_even_when_rearmed() {
        let cfg = SignalConfig { cooldown_bars: 3, ..SignalConfig::default() };
        let l = Direction::Long;
        let out = run(&cfg, &[(50.0, l), (72.0, l), (40.0, l), (72.0, l), (40.0, l), (72.0, l)]);
        // fired at bar 1; bars 2, 3, 4 are the cooldown; bar 5 fires again
        assert_eq!(out, vec![None, Some(Side::Buy), None, None, None, Some(Side::Buy)]);
    }

    #[test]
    fn short_setups_give_sell_signals_and_can_be_disabled() {
        let s = Direction::Short;
        let cfg = SignalConfig { cooldown_bars: 0, ..SignalConfig::default() };
        assert_eq!(run(&cfg, &[(10.0, s), (90.0, s)]), vec![None, Some(Side::Sell)]);
        let cfg = SignalConfig { short: false, ..cfg };
        assert_eq!(run(&cfg, &[(10.0, s), (90.0, s)]), vec![None, None]);
    }

    #[test]
    fn neutral_contexts_never_fire() {
        let cfg = SignalConfig { cooldown_bars: 0, ..SignalConfig::default() };
        let n = Direction::Neutral;
        assert_eq!(run(&cfg, &[(10.0, n), (99.0, n)]), vec![None, None]);
    }
}
