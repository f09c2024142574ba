//! The strategy: which score becomes signals, and the `SignalScore` it
//! gives on each closed bar.
//!
//! * `"context"` (the default): the context score and its direction, as
//!   the engine always did ([`crate::signals::SignalEvaluator::evaluate`];
//!   no `SignalScore` is computed).
//! * `"rsi_macd"`: the RSI/MACD rules' score ([`RsiMacdRules`]).
//! * `{"mix": {"context": a, "rsi_macd": b}}`: per side, the weighted mean
//!   (weights normalised) of the context's score on that side (its score
//!   when it points that way, else 0) and the rules' score on that side.
//!
//! The side with the higher score is the direction (a tie is neutral, which
//! never fires); the signal evaluator's thresholds, hysteresis and cooldown
//! then apply to that score exactly as to the context score.
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

use super::RsiMacdRules;
use crate::config::within;
use crate::error::{CoreError, CoreResult};
use crate::patterns::Direction;
use crate::scoring::ContextScore;

/// Which score becomes signals (`EngineConfig::strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Strategy {
    /// The context score (today's behaviour).
    #[default]
    Context,
    /// The RSI/MACD rules alone.
    RsiMacd,
    /// A weighted mix of the context and the rules (non-negative weights,
    /// normalised by their sum).
    Mix { context: f64, rsi_macd: f64 },
}

const EXPECTED: &str = r#"expected "context", "rsi_macd" or {"mix": {"context": <weight>, "rsi_macd": <weight>}}"#;

impl Strategy {
    /// Its name in signals' reasons: `context`, `rsi_macd` or `mix`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Context => "context",
            Self::RsiMacd => "rsi_macd",
            Self::Mix { .. } => "mix",
        }
    }

    /// Whether the RSI/MACD rules are needed.
    #[must_use]
    pub fn uses_rules(self) -> bool {
        self != Self::Context
    }

    /// The normalised `(context, rsi_macd)` weights.
    #[must_use]
    pub fn weights(self) -> (f64, f64) {
        match self {
            Self::Context => (1.0, 0.0),
            Self::RsiMacd => (0.0, 1.0),
            Self::Mix { context, rsi_macd } => {
                let sum = context + rsi_macd;
                (context / sum, rsi_macd / sum)
            }
        }
    }

    /// Checks a mix's weights.
    ///
    /// # Errors
    /// [`CoreError::Config`] naming the bad weight.
    pub fn validate(self) -> CoreResult<()> {
        if let Self::Mix { context, rsi_macd } = self {
            within("strategy.mix.context", context, 0.0, 1e6)?;
            within("strategy.mix.rsi_macd", rsi_macd, 0.0, 1e6)?;
            if context + rsi_macd <= 0.0 {
                return Err(CoreError::Config("strategy.mix weights must not all be zero".into()));
            }
        }
        Ok(())
    }

    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) if s == "context" => Ok(Self::Context),
            Value::String(s) if s == "rsi_macd" => Ok(Self::RsiMacd),
            Value::String(s) if s == "mix" => {
                Err(r#"strategy "mix" needs its weights: {"mix": {"context": 0.6, "rsi_macd": 0.4}}"#.into())
            }
            Value::String(s) => Err(format!("unknown strategy {s:?}; {EXPECTED}")),
            Value::Object(o) => {
                let (key, weights) = match o.iter().next() {
                    Some((k, w)) if o.len() == 1 && k == "mix" => (k, w),
                    _ => {
                        let keys: Vec<&String> = o.keys().collect();
                        return Err(format!("strategy object must have the one key \"mix\", got {keys:?}; {EXPECTED}"));
                    }
                };
                let Value::Object(w) = weights else {
                    return Err(format!("strategy.{key} must map strategies to weights, got {weights}"));
                };
                if w.is_empty() {
                    return Err("strategy.mix names no strategy; give weights to \"context\" and \"rsi_macd\"".into());
                }
                let (mut context, mut rsi_macd) = (0.0, 0.0);
                for (name, x) in w {
                    let slot = match name.as_str() {
                        "context" => &mut context,
                        "rsi_macd" => &mut rsi_macd,
                        other => {
                            return Err(format!(
                                "strategy.mix: unknown strategy {other:?} (strategies: \"context\", \"rsi_macd\")"
                            ))
                        }
                    };
                    *slot = x.as_f64().ok_or_else(|| format!("strategy.mix.{name} must be a number, got {x}"))?;
                }
                let s = Self::Mix { context, rsi_macd };
                s.validate().map_err(|e| e.to_string())?;
                Ok(s)
            }
            other => Err(format!("strategy must be a string or an object, got {other}; {EXPECTED}")),
        }
    }

    fn to_value(self) -> Value {
        match self {
            Self::Mix { context, rsi_macd } => json!({"mix": {"context": context, "rsi_macd": rsi_macd}}),
            other => Value::String(other.as_str().into()),
        }
    }
}

impl Serialize for Strategy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Strategy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Self::from_value(&v).map_err(D::Error::custom)
    }
}

/// The score a strategy other than the context gives one closed bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalScore {
    pub strategy: Strategy,
    /// 0..100: the strategy's score on `direction`'s side.
    pub score: f64,
    /// The side with the higher score (neutral on a tie).
    pub direction: Direction,
    /// The context's part on that side: its score if it points that way,
    /// else 0 (before weighting).
    pub context: f64,
    /// The rules' score on that side (before weighting).
    pub rules: f64,
}

impl SignalScore {
    /// Combines the context and the rules' state as `strategy` says.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    #[must_use]
    pub fn combine(strategy: Strategy, ctx: &ContextScore, rules: &RsiMacdRules) -> Self {
        let (wc, wr) = strategy.weights();
        // the context counts only where weighted (`rsi_macd` never reads it)
        let ctx_on = |d: Direction| if wc > 0.0 && ctx.direction == d { ctx.score } else { 0.0 };
        let (rules_long, rules_short) = rules.scores();
        let long = wc * ctx_on(Direction::Long) + wr * rules_long;
        let short = wc * ctx_on(Direction::Short) + wr * rules_short;
        let (direction, score, context, rules) = if long > short {
            (Direction::Long, long, ctx_on(Direction::Long), rules_long)
        } else if short > long {
            (Direction::Short, short, ctx_on(Direction::Short), rules_short)
        } else {
            (Direction::Neutral, long, 0.0, rules_long)
        };
        Self { strategy, score: score.clamp(0.0, 100.0), direction, context, rules }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Strategy, String> {
        serde_json::from_str::<Strategy>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn names_and_mixes_round_trip_through_json() {
        for s in [Strategy::Context, Strategy::RsiMacd, Strategy::Mix { context: 0.6, rsi_macd: 0.4 }] {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(parse(&text).unwrap(), s, "{text}");
        }
        assert_eq!(parse(r#""context""#).unwrap(), Strategy::Context);
        assert_eq!(parse(r#"{"mix": {"rsi_macd": 2}}"#).unwrap(), Strategy::Mix { context: 0.0, rsi_macd: 2.0 });
    }

    #[test]
    fn bad_strategies_and_weights_are_refused_with_what_is_wrong() {
        for (text, needle) in [
            (r#""rsi""#, r#"unknown strategy "rsi""#),
            (r#""mix""#, "needs its weights"),
            ("3", "must be a string or an object"),
            (r#"{"blend": {"context": 1}}"#, r#"the one key "mix""#),
            (r#"{"mix": 0.5}"#, "must map strategies to weights"),
            (r#"{"mix": {}}"#, "names no strategy"),
            (r#"{"mix": {"context": 0.5, "macd": 0.5}}"#, r#"unknown strategy "macd""#),
            (r#"{"mix": {"context": "a lot"}}"#, "strategy.mix.context must be a number"),
            (
                r#"{"mix": {"context": -0.5, "rsi_macd": 1}}"#,
                "strategy.mix.context must be within [0, 1000000], got -0.5",
            ),
            (r#"{"mix": {"context": 0, "rsi_macd": 0}}"#, "must not all be zero"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    fn ctx(score: f64, direction: Direction) -> ContextScore {
        ContextScore {
            symbol: "BTCUSDT".into(),
            interval: crate::candles::Interval::H1,
            score,
            direction,
            pattern: crate::patterns::Pattern::Trend,
            pattern_strength: 1.0,
            components: crate::scoring::Components::default(),
            timestamp: 0,
            close: 100.0,
        }
    }

    #[test]
    fn a_mix_weights_each_side_and_the_higher_side_wins() {
        let mut rules = RsiMacdRules::new(&crate::config::RsiMacdConfig::default());
        let none = SignalScore::combine(Strategy::RsiMacd, &ctx(90.0, Direction::Short), &rules);
        assert_eq!((none.direction, none.score), (Direction::Neutral, 0.0));
        // RSI leaves oversold and MACD crosses up on the same bar: rules long 80
        for (rsi, hist) in [(25.0, -1.0), (35.0, 1.0)] {
            rules.update(rsi, &crate::indicators::MacdOutput { macd: hist, signal: 0.0, hist });
        }
        let short_ctx = ctx(50.0, Direction::Short);
        let r = SignalScore::combine(Strategy::RsiMacd, &short_ctx, &rules);
        assert_eq!((r.direction, r.score, r.context, r.rules), (Direction::Long, 80.0, 0.0, 80.0));
        // long 0.4 x 80 = 32 against short 0.6 x 50 = 30
        let m = SignalScore::combine(Strategy::Mix { context: 0.6, rsi_macd: 0.4 }, &short_ctx, &rules);
        assert_eq!((m.direction, m.context, m.rules), (Direction::Long, 0.0, 80.0));
        assert!((m.score - 32.0).abs() < 1e-12, "{m:?}");
        let m =
            SignalScore::combine(Strategy::Mix { context: 0.6, rsi_macd: 0.4 }, &ctx(70.0, Direction::Long), &rules);
        assert!((m.score - (0.6 * 70.0 + 0.4 * 80.0)).abs() < 1e-12 && m.context == 70.0, "{m:?}");
        // the context strategy's NaN never leaks into the rules' score
        let n = SignalScore::combine(Strategy::RsiMacd, &ctx(f64::NAN, Direction::Long), &rules);
        assert_eq!(n.score, 80.0);
    }

    #[test]
    fn weights_are_normalised() {
        let (c, r) = Strategy::Mix { context: 3.0, rsi_macd: 1.0 }.weights();
        assert!((c - 0.75).abs() < 1e-15 && (r - 0.25).abs() < 1e-15);
    }
}
