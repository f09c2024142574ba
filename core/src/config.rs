//! The engine's configuration: every parameter with its documented default,
//! loadable from JSON, validated on construction.
//!
//! Unknown keys are refused (a typo must not silently fall back to a
//! default). Missing keys take the defaults below.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
pub use crate::signals::Strategy;

/// Everything the [`crate::engine::MarketEngine`] needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Closed candles kept per symbol and interval (default 500).
    pub buffer_capacity: usize,
    /// Indicator periods.
    pub indicators: IndicatorConfig,
    /// Pattern detector thresholds.
    pub patterns: PatternConfig,
    /// Weights of the score components.
    pub scoring: ScoringConfig,
    /// Signal thresholds, hysteresis and cooldown.
    pub signals: SignalConfig,
    /// Which score becomes signals: the context (default), the RSI/MACD
    /// rules, or a weighted mix of both.
    pub strategy: Strategy,
    /// The RSI/MACD rules (used by the `rsi_macd` strategy and mixes).
    pub rsi_macd: RsiMacdConfig,
    /// More strategies evaluated beside the primary one, by name (default
    /// none): each has its own signal state (arming, cooldown) on the same
    /// features and context, and its signals carry its name, so a bot can
    /// trade the strategy it selects. Names: 1 to 32 of `a-z`, `0-9`, `_`,
    /// not the primary strategy's name; at most [`MAX_STRATEGIES`].
    pub strategies: BTreeMap<String, Strategy>,
}

/// How many named strategies an engine evaluates at most.
pub const MAX_STRATEGIES: usize = 8;

/// Indicator periods used by the feature set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndicatorConfig {
    /// Fast EMA (default 20).
    pub ema_fast: usize,
    /// Slow EMA, whose slope gives the trend direction (default 50).
    pub ema_slow: usize,
    /// RSI period, Wilder (default 14).
    pub rsi: usize,
    /// ATR period, Wilder (default 14).
    pub atr: usize,
    /// Bollinger period (default 20).
    pub bb_period: usize,
    /// Bollinger width in standard deviations (default 2.0).
    pub bb_nbdev: f64,
    /// Donchian channel of the previous N bars, for breakouts (default 20).
    pub channel: usize,
    /// Window of the volume z-score (default 20).
    pub volume_z: usize,
    /// ADX / DI period (default 14).
    pub adx: usize,
    /// MACD fast, slow and signal periods (default 12, 26, 9).
    pub macd_fast: usize,
    pub macd_slow: usize,
    pub macd_signal: usize,
    /// EMA of OBV; OBV above it means rising on-balance volume (default 20).
    pub obv_ema: usize,
    /// Bars of Bollinger-width history the squeeze is ranked in (default 120).
    pub squeeze_lookback: usize,
    /// Closed candles the kline delta's share of the volume (`Σ delta /
    /// Σ volume`, the CVD's change) is measured over for the `flow`
    /// component (default 20).
    pub flow_window: usize,
}

/// Thresholds of the pattern detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatternConfig {
    /// A squeeze: Bollinger width at or below this rank (0 = narrowest,
    /// 1 = widest of the lookback's range) (default 0.2).
    pub squeeze_rank_max: f64,
    /// Trend: ADX at or above this (default 25).
    pub trend_adx_min: f64,
    /// ADX treated as a full-strength trend (default 50).
    pub adx_strong: f64,
    /// Range/chop: ADX below this (default 20).
    pub range_adx_max: f64,
    /// Breakout: volume z-score at or above this (default 2.0).
    pub breakout_volume_z: f64,
    /// Breakout distance beyond the channel, in ATRs, scored as full
    /// strength (default 1.0).
    pub breakout_atr_full: f64,
    /// Taker-buy share at or above this counts as buying pressure, at or
    /// below `1 - x` as selling pressure (default 0.55).
    pub taker_share_min: f64,
}

/// Weights of the score components (any non-negative numbers; normalised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    pub trend: f64,
    pub momentum: f64,
    pub volatility: f64,
    pub volume: f64,
    pub breakout: f64,
    pub flow: f64,
}

/// When a score becomes a signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalConfig {
    /// A signal fires when the score crosses up through this (default 70).
    pub entry_threshold: f64,
    /// Hysteresis: the side re-arms only after the score fell below this
    /// (default 55).
    pub rearm_threshold: f64,
    /// Closed bars after a signal during which that symbol stays silent
    /// (default 15).
    pub cooldown_bars: u32,
    /// Emit BUY signals (default true).
    pub long: bool,
    /// Emit SELL signals (default true).
    pub short: bool,
}

/// The RSI/MACD rules of the `rsi_macd` strategy (see
/// [`crate::signals::RsiMacdRules`]). RSI and MACD periods are the
/// `indicators` ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RsiMacdConfig {
    /// RSI at or below this is oversold; crossing up out of it is a long
    /// event (default 30).
    pub oversold: f64,
    /// RSI at or above this is overbought; crossing down out of it is a
    /// short event (default 70).
    pub overbought: f64,
    /// Closed bars an event keeps counting, the bar it fired on included
    /// (default 5; 1: only its own bar).
    pub window: u32,
    /// Weights of the rules (any non-negative numbers; normalised).
    pub weights: RuleWeights,
}

/// Weights of the three RSI/MACD rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleWeights {
    /// RSI leaving oversold (long) or overbought (short) (default 0.4).
    pub rsi: f64,
    /// MACD line crossing its signal line (default 0.4).
    pub macd_cross: f64,
    /// MACD histogram turning: its slope changing sign (default 0.2).
    pub hist_turn: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            buffer_capacity: 500,
            indicators: IndicatorConfig::default(),
            patterns: PatternConfig::default(),
            scoring: ScoringConfig::default(),
            signals: SignalConfig::default(),
            strategy: Strategy::default(),
            rsi_macd: RsiMacdConfig::default(),
            strategies: BTreeMap::new(),
        }
    }
}

impl Default for RsiMacdConfig {
    fn default() -> Self {
        Self { oversold: 30.0, overbought: 70.0, window: 5, weights: RuleWeights::default() }
    }
}

impl Default for RuleWeights {
    fn default() -> Self {
        Self { rsi: 0.4, macd_cross: 0.4, hist_turn: 0.2 }
    }
}

impl Default for IndicatorConfig {
    fn default() -> Self {
        Self {
            ema_fast: 20,
            ema_slow: 50,
            rsi: 14,
            atr: 14,
            bb_period: 20,
            bb_nbdev: 2.0,
            channel: 20,
            volume_z: 20,
            adx: 14,
            macd_fast: 12,
            macd_slow: 26,
            macd_signal: 9,
            obv_ema: 20,
            squeeze_lookback: 120,
            flow_window: 20,
        }
    }
}

impl Default for PatternConfig {
    fn default() -> Self {
        Self {
            squeeze_rank_max: 0.2,
            trend_adx_min: 25.0,
            adx_strong: 50.0,
            range_adx_max: 20.0,
            breakout_volume_z: 2.0,
            breakout_atr_full: 1.0,
            taker_share_min: 0.55,
        }
    }
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self { trend: 0.25, momentum: 0.2, volatility: 0.1, volume: 0.15, breakout: 0.2, flow: 0.1 }
    }
}

impl Default for SignalConfig {
    fn default() -> Self {
        Self { entry_threshold: 70.0, rearm_threshold: 55.0, cooldown_bars: 15, long: true, short: true }
    }
}

fn positive(name: &str, v: usize) -> CoreResult<()> {
    if v == 0 {
        return Err(CoreError::Config(format!("{name} must be >= 1, got 0")));
    }
    Ok(())
}

pub(crate) fn within(name: &str, v: f64, lo: f64, hi: f64) -> CoreResult<()> {
    if !(v.is_finite() && v >= lo && v <= hi) {
        return Err(CoreError::Config(format!("{name} must be within [{lo}, {hi}], got {v}")));
    }
    Ok(())
}

impl EngineConfig {
    /// Checks the named strategies: their names and their mixes' weights.
    fn validate_strategies(&self) -> CoreResult<()> {
        if self.strategies.len() > MAX_STRATEGIES {
            return Err(CoreError::Config(format!(
                "strategies: at most {MAX_STRATEGIES} named strategies, got {}",
                self.strategies.len()
            )));
        }
        for (name, strategy) in &self.strategies {
            let ok = (1..=32).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(CoreError::Config(format!(
                    "strategies: {name:?} is not a name (1 to 32 of a-z, 0-9 and _)"
                )));
            }
            if name == self.strategy.as_str() {
                return Err(CoreError::Config(format!(
                    "strategies: {name:?} is the primary strategy's name (pick another)"
                )));
            }
            strategy.validate().map_err(|e| match e {
                CoreError::Config(m) => CoreError::Config(format!("strategies.{name}: {m}")),
                other => other,
            })?;
        }
        Ok(())
    }

    /// Parses a JSON document (missing keys take their defaults) and validates it.
    ///
    /// # Errors
    /// [`CoreError::Config`] naming the bad key or value.
    pub fn from_json(text: &str) -> CoreResult<Self> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| CoreError::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration as pretty JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`CoreError::Config`] naming the first bad value.
    pub fn validate(&self) -> CoreResult<()> {
        if !(1..=1_000_000).contains(&self.buffer_capacity) {
            return Err(CoreError::Config(format!(
                "buffer_capacity must be within [1, 1000000], got {}",
                self.buffer_capacity
            )));
        }
        let i = &self.indicators;
        for (name, v) in [
            ("indicators.ema_fast", i.ema_fast),
            ("indicators.ema_slow", i.ema_slow),
            ("indicators.rsi", i.rsi),
            ("indicators.atr", i.atr),
            ("indicators.bb_period", i.bb_period),
            ("indicators.channel", i.channel),
            ("indicators.volume_z", i.volume_z),
            ("indicators.macd_fast", i.macd_fast),
            ("indicators.macd_signal", i.macd_signal),
            ("indicators.obv_ema", i.obv_ema),
            ("indicators.flow_window", i.flow_window),
        ] {
            positive(name, v)?;
        }
        for (name, v) in [
            ("indicators.adx", i.adx),
            ("indicators.macd_slow", i.macd_slow),
            ("indicators.squeeze_lookback", i.squeeze_lookback),
        ] {
            if v < 2 {
                return Err(CoreError::Config(format!("{name} must be >= 2, got {v}")));
            }
        }
        if i.ema_fast >= i.ema_slow {
            return Err(CoreError::Config(format!(
                "indicators.ema_fast ({}) must be shorter than indicators.ema_slow ({})",
                i.ema_fast, i.ema_slow
            )));
        }
        if i.macd_fast >= i.macd_slow {
            return Err(CoreError::Config(format!(
                "indicators.macd_fast ({}) must be shorter than indicators.macd_slow ({})",
                i.macd_fast, i.macd_slow
            )));
        }
        within("indicators.bb_nbdev", i.bb_nbdev, 0.1, 10.0)?;
        let p = &self.patterns;
        within("patterns.squeeze_rank_max", p.squeeze_rank_max, 0.0, 1.0)?;
        within("patterns.trend_adx_min", p.trend_adx_min, 0.0, 100.0)?;
        within("patterns.adx_strong", p.adx_strong, 0.0, 100.0)?;
        within("patterns.range_adx_max", p.range_adx_max, 0.0, 100.0)?;
        within("patterns.breakout_volume_z", p.breakout_volume_z, 0.0, 100.0)?;
        within("patterns.breakout_atr_full", p.breakout_atr_full, 1e-6, 100.0)?;
        within("patterns.taker_share_min", p.taker_share_min, 0.5, 1.0)?;
        if p.adx_strong <= p.trend_adx_min {
            return Err(CoreError::Config(format!(
                "patterns.adx_strong ({}) must exceed patterns.trend_adx_min ({})",
                p.adx_strong, p.trend_adx_min
            )));
        }
        let w = &self.scoring;
        let weights = [w.trend, w.momentum, w.volatility, w.volume, w.breakout, w.flow];
        for (name, v) in ["trend", "momentum", "volatility", "volume", "breakout", "flow"].iter().zip(weights) {
            within(&format!("scoring.{name}"), v, 0.0, 1e6)?;
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(CoreError::Config("scoring weights must not all be zero".into()));
        }
        let s = &self.signals;
        within("signals.entry_threshold", s.entry_threshold, 0.0, 100.0)?;
        within("signals.rearm_threshold", s.rearm_threshold, 0.0, 100.0)?;
        if s.rearm_threshold >= s.entry_threshold {
            return Err(CoreError::Config(format!(
                "signals.rearm_threshold ({}) must be below signals.entry_threshold ({}) for hysteresis",
                s.rearm_threshold, s.entry_threshold
            )));
        }
        self.strategy.validate()?;
        self.validate_strategies()?;
        let r = &self.rsi_macd;
        within("rsi_macd.oversold", r.oversold, 0.0, 100.0)?;
        within("rsi_macd.overbought", r.overbought, 0.0, 100.0)?;
        if r.oversold >= r.overbought {
            return Err(CoreError::Config(format!(
                "rsi_macd.oversold ({}) must be below rsi_macd.overbought ({})",
                r.oversold, r.overbought
            )));
        }
        if !(1..=10_000).contains(&r.window) {
            return Err(CoreError::Config(format!("rsi_macd.window must be within [1, 10000], got {}", r.window)));
        }
        let w = &r.weights;
        let weights = [w.rsi, w.macd_cross, w.hist_turn];
        for (name, v) in ["rsi", "macd_cross", "hist_turn"].iter().zip(weights) {
            within(&format!("rsi_macd.weights.{name}"), v, 0.0, 1e6)?;
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(CoreError::Config("rsi_macd.weights must not all be zero".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_json() {
        let cfg = EngineConfig::default();
        cfg.validate().unwrap();
        assert_eq!(EngineConfig::from_json(&cfg.to_json()).unwrap(), cfg);
    }

    #[test]
    fn partial_json_takes_defaults_for_the_rest() {
        let cfg = EngineConfig::from_json(r#"{"signals": {"entry_threshold": 80}}"#).unwrap();
        assert!((cfg.signals.entry_threshold - 80.0).abs() < f64::EPSILON);
        assert_eq!(cfg.indicators.rsi, 14);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_name() {
        let e = EngineConfig::from_json(r#"{"signals": {"entry_treshold": 80}}"#).unwrap_err();
        assert!(e.to_string().contains("entry_treshold"), "{e}");
        let e = EngineConfig::from_json(r#"{"signals": {"rearm_threshold": 90}}"#).unwrap_err();
        assert!(e.to_string().contains("rearm_threshold"), "{e}");
        let e = EngineConfig::from_json(r#"{"indicators": {"ema_fast": 60}}"#).unwrap_err();
        assert!(e.to_string().contains("ema_fast"), "{e}");
        assert!(EngineConfig::from_json("not json").is_err());
    }

    #[test]
    fn strategies_and_their_rules_are_read_and_checked() {
        let cfg = EngineConfig::from_json(r#"{"strategy": {"mix": {"context": 0.6, "rsi_macd": 0.4}}}"#).unwrap();
        assert_eq!(cfg.strategy, Strategy::Mix { context: 0.6, rsi_macd: 0.4 });
        assert_eq!(EngineConfig::from_json(&cfg.to_json()).unwrap(), cfg);
        let named = EngineConfig::from_json(r#"{"strategies": {"rsi": "rsi_macd"}}"#).unwrap();
        assert_eq!(named.strategies.get("rsi"), Some(&Strategy::RsiMacd));
        for (text, msg) in [
            (r#"{"strategies": {"Rsi": "rsi_macd"}}"#, "is not a name"),
            (r#"{"strategies": {"context": "rsi_macd"}}"#, "the primary strategy's name"),
            (
                r#"{"strategies": {"m": {"mix": {"context": 0, "rsi_macd": 0}}}}"#,
                "strategy.mix weights must not all be zero",
            ),
        ] {
            let err = EngineConfig::from_json(text).unwrap_err().to_string();
            assert!(err.contains(msg), "{text}: {err}");
        }
        assert_eq!(EngineConfig::default().strategy, Strategy::Context);
        for (text, needle) in [
            (r#"{"strategy": "momentum"}"#, r#"unknown strategy "momentum""#),
            (r#"{"strategy": {"mix": {"context": -1}}}"#, "strategy.mix.context must be within"),
            (r#"{"rsi_macd": {"oversold": 80}}"#, "rsi_macd.oversold (80) must be below rsi_macd.overbought (70)"),
            (r#"{"rsi_macd": {"window": 0}}"#, "rsi_macd.window"),
            (r#"{"rsi_macd": {"weights": {"rsi": 0, "macd_cross": 0, "hist_turn": 0}}}"#, "must not all be zero"),
            (r#"{"rsi_macd": {"weights": {"rsi": -0.1}}}"#, "rsi_macd.weights.rsi"),
            (r#"{"rsi_macd": {"level": 30}}"#, "level"),
        ] {
            let e = EngineConfig::from_json(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
