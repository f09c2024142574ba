//! Everything the engine keeps for one (symbol, interval) stream.
use std::sync::Arc;

use crate::candles::{Candle, CandleBuffer, Interval, PushOutcome};
use crate::config::EngineConfig;
use crate::error::CoreResult;
use crate::patterns::{self, FeatureSet, Features};
use crate::scoring::{ContextScore, ContextScorer};
use crate::signals::{RsiMacdRules, SignalEvaluator, SignalScore, Strategy, TradeSignal};

/// What one kline did.
#[derive(Debug, Clone, PartialEq)]
pub struct KlineStep {
    /// What the ring buffer did with it.
    pub outcome: PushOutcome,
    /// Whether a new context score was computed (a closed candle past warm-up).
    pub scored: bool,
    /// The signal the primary strategy fired, if any (boxed: signals are
    /// rare, and a small step is cheap to return on every kline).
    pub signal: Option<Box<TradeSignal>>,
    /// The signals the named strategies fired (`EngineConfig::strategies`;
    /// an empty vector does not allocate).
    pub named: Vec<TradeSignal>,
}

/// A named strategy's own signal state on one stream.
#[derive(Debug, Clone)]
struct NamedStrategy {
    name: Arc<str>,
    strategy: Strategy,
    evaluator: SignalEvaluator,
}

/// One stream's buffer, features, evaluator and latest context.
#[derive(Debug, Clone)]
pub struct SymbolState {
    symbol: Arc<str>,
    interval: Interval,
    buffer: CandleBuffer,
    features: FeatureSet,
    evaluator: SignalEvaluator,
    /// The RSI/MACD rules, when a strategy uses them.
    rules: Option<RsiMacdRules>,
    /// The named strategies, in name order.
    named: Vec<NamedStrategy>,
    /// The strategy's latest score (None for the context strategy).
    signal_score: Option<SignalScore>,
    context: Option<ContextScore>,
    last_signal: Option<TradeSignal>,
    signals: u64,
}

impl SymbolState {
    /// A fresh stream.
    ///
    /// # Errors
    /// `InvalidParameter` if the configuration's periods are out of range.
    pub fn new(symbol: Arc<str>, interval: Interval, cfg: &EngineConfig) -> CoreResult<Self> {
        Ok(Self {
            symbol,
            interval,
            buffer: CandleBuffer::new(interval, cfg.buffer_capacity)?,
            // every candle reaching `on_candle` was checked by the engine
            features: FeatureSet::for_checked_candles(&cfg.indicators)?,
            evaluator: SignalEvaluator::new(&cfg.signals),
            rules: (cfg.strategy.uses_rules() || cfg.strategies.values().any(|s| s.uses_rules()))
                .then(|| RsiMacdRules::new(&cfg.rsi_macd)),
            named: cfg
                .strategies
                .iter()
                .map(|(name, &strategy)| NamedStrategy {
                    name: name.as_str().into(),
                    strategy,
                    evaluator: SignalEvaluator::new(&cfg.signals),
                })
                .collect(),
            signal_score: None,
            context: None,
            last_signal: None,
            signals: 0,
        })
    }

    #[must_use]
    pub fn symbol(&self) -> &Arc<str> {
        &self.symbol
    }

    #[must_use]
    pub fn interval(&self) -> Interval {
        self.interval
    }

    #[must_use]
    pub fn buffer(&self) -> &CandleBuffer {
        &self.buffer
    }

    #[must_use]
    pub fn features(&self) -> &FeatureSet {
        &self.features
    }

    /// The latest snapshot of features (None while warming up).
    #[must_use]
    pub fn last_features(&self) -> Option<&Features> {
        self.features.last()
    }

    /// The latest context score (None while warming up).
    #[must_use]
    pub fn context(&self) -> Option<&ContextScore> {
        self.context.as_ref()
    }

    #[must_use]
    pub fn last_signal(&self) -> Option<&TradeSignal> {
        self.last_signal.as_ref()
    }

    /// Signals fired so far.
    #[must_use]
    pub fn signal_count(&self) -> u64 {
        self.signals
    }

    /// The strategy's latest score (None for the context strategy, and
    /// while warming up).
    #[must_use]
    pub fn signal_score(&self) -> Option<&SignalScore> {
        self.signal_score.as_ref()
    }

    /// The RSI/MACD rules' state (None for the context strategy).
    #[must_use]
    pub fn rules(&self) -> Option<&RsiMacdRules> {
        self.rules.as_ref()
    }

    #[must_use]
    pub fn evaluator(&self) -> &SignalEvaluator {
        &self.evaluator
    }

    /// Last price seen: the forming candle's close, else the last closed one.
    #[must_use]
    pub fn last_price(&self) -> Option<f64> {
        self.buffer.forming().or_else(|| self.buffer.last()).map(|c| c.close)
    }

    /// Runs one kline through buffer, features, patterns, scorer and
    /// evaluator. The candle must have passed [`Candle::is_sane`] (the
    /// engine checks every one first): the features' channel relies on it.
    #[inline(always)]
    #[allow(clippy::inline_always)] // inlined into the engine's dispatched batch loops
    pub(crate) fn on_candle(
        &mut self,
        candle: &Candle,
        closed: bool,
        allow_gap: bool,
        cfg: &EngineConfig,
        scorer: &ContextScorer,
    ) -> KlineStep {
        let outcome = self.buffer.push(candle, closed, allow_gap);
        if !outcome.appended() {
            return KlineStep { outcome, scored: false, signal: None, named: Vec::new() };
        }
        let ready = self.features.advance(candle);
        if let Some(rules) = &mut self.rules {
            // every closed candle, so a crossing on the first scored bar counts
            rules.update(self.features.current().rsi, &self.features.macd());
        }
        if !ready {
            return KlineStep { outcome, scored: false, signal: None, named: Vec::new() };
        }
        let f = self.features.current();
        let reading = patterns::detect(f, &cfg.patterns);
        let (components, score) = scorer.evaluate(f, &reading);
        let timestamp = self.interval.close_time(candle.open_time);
        let ctx = match &mut self.context {
            Some(ctx) => ctx,
            slot @ None => slot.insert(ContextScore {
                symbol: self.symbol.clone(),
                interval: self.interval,
                score,
                direction: reading.direction,
                pattern: reading.pattern,
                pattern_strength: reading.strength,
                components,
                timestamp,
                close: f.close,
            }),
        };
        ctx.score = score;
        ctx.direction = reading.direction;
        ctx.pattern = reading.pattern;
        ctx.pattern_strength = reading.strength;
        ctx.components = components;
        ctx.timestamp = timestamp;
        ctx.close = f.close;
        let signal = match &self.rules {
            Some(rules) if cfg.strategy.uses_rules() => {
                let sig = SignalScore::combine(cfg.strategy, ctx, rules);
                self.signal_score = Some(sig);
                self.evaluator.evaluate_strategy(ctx, f, &sig, rules)
            }
            _ => self.evaluator.evaluate(ctx, f),
        }
        .map(Box::new);
        if let Some(s) = &signal {
            self.signals += 1;
            self.last_signal = Some(TradeSignal::clone(s));
        }
        let mut named = Vec::new();
        for slot in &mut self.named {
            let fired = match &self.rules {
                Some(rules) if slot.strategy.uses_rules() => {
                    let sig = SignalScore::combine(slot.strategy, ctx, rules);
                    slot.evaluator.evaluate_strategy(ctx, f, &sig, rules)
                }
                _ => slot.evaluator.evaluate(ctx, f),
            };
            if let Some(mut s) = fired {
                s.name = Some(slot.name.clone());
                self.signals += 1;
                named.push(s);
            }
        }
        KlineStep { outcome, scored: true, signal, named }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::MarketEngine;
    use crate::signals::{Side, Strategy};

    /// Two sine waves, so RSI and MACD swing both ways many times.
    fn candles(n: usize) -> Vec<Candle> {
        (0..n)
            .map(|i| {
                let x = i as f64;
                let open = 100.0 + 10.0 * (x / 15.0).sin() + 3.0 * (x / 4.3).sin();
                let close = 100.0 + 10.0 * ((x + 1.0) / 15.0).sin() + 3.0 * ((x + 1.0) / 4.3).sin();
                let volume = 1_000.0 + 400.0 * (x / 7.0).cos();
                Candle::ohlcv(i as i64 * 60_000, open, open.max(close) + 0.5, open.min(close) - 0.5, close, volume)
            })
            .collect()
    }

    fn signals(strategy: Strategy) -> Vec<TradeSignal> {
        let cfg = EngineConfig { strategy, ..EngineConfig::default() };
        let mut e = MarketEngine::new(cfg).unwrap();
        let id = e.track("BTCUSDT", Interval::M1).unwrap();
        candles(3000).iter().filter_map(|c| e.on_kline(id, c, true, true).unwrap().signal.map(|s| *s)).collect()
    }

    fn sides_and_times(v: &[TradeSignal]) -> Vec<(Side, i64)> {
        v.iter().map(|s| (s.side, s.generated_at)).collect()
    }

    #[test]
    fn a_mix_of_the_context_alone_fires_as_the_context_strategy() {
        let context = signals(Strategy::Context);
        assert!(context.len() >= 3, "{}", context.len());
        let mix = signals(Strategy::Mix { context: 1.0, rsi_macd: 0.0 });
        assert_eq!(sides_and_times(&mix), sides_and_times(&context));
        assert!(context.iter().all(|s| s.strategy() == Strategy::Context && s.rules().next().is_none()));
        assert!(mix[0].reason().starts_with("mix "), "{}", mix[0].reason());
    }

    #[test]
    fn rsi_macd_signals_carry_the_rules_that_fired_on_their_side() {
        let sigs = signals(Strategy::RsiMacd);
        assert!(sigs.len() >= 3, "{}", sigs.len());
        for s in &sigs {
            let want =
                if s.side == Side::Buy { crate::patterns::Direction::Long } else { crate::patterns::Direction::Short };
            let rules: Vec<_> = s.rules().collect();
            // the default weights (0.4, 0.4, 0.2) reach 70 only with both crossings
            assert!(rules.len() >= 2 && rules.iter().all(|r| r.direction == want), "{}", s.reason());
            assert!(s.score >= 70.0 && s.reason().starts_with("rsi_macd "), "{}", s.reason());
            let r = s.reason();
            assert!(r.contains("RSI left") && r.contains("MACD crossed"), "{r}");
        }
        assert!(sigs.iter().any(|s| s.side == Side::Buy) && sigs.iter().any(|s| s.side == Side::Sell));
    }

    #[test]
    fn named_strategies_fire_as_they_would_as_the_primary_and_carry_their_names() {
        let cfg: EngineConfig = EngineConfig::from_json(
            r#"{"strategies": {"rules": "rsi_macd", "blend": {"mix": {"context": 1, "rsi_macd": 0}}}}"#,
        )
        .unwrap();
        let mut e = MarketEngine::new(cfg).unwrap();
        let id = e.track("BTCUSDT", Interval::M1).unwrap();
        let (mut primary, mut named) = (Vec::new(), Vec::new());
        for c in &candles(3000) {
            let step = e.on_kline(id, c, true, true).unwrap();
            primary.extend(step.signal.map(|s| *s));
            named.extend(step.named);
        }
        // the primary is untouched by the named ones
        let context = signals(Strategy::Context);
        assert_eq!(primary.len(), context.len());
        assert_eq!(sides_and_times(&primary), sides_and_times(&context));
        assert!(primary.iter().all(|s| s.primary() && s.strategy_name() == "context"));
        let of = |n: &str| named.iter().filter(|s| s.strategy_name() == n).cloned().collect::<Vec<_>>();
        let rules = of("rules");
        assert!(!rules.is_empty() && rules.iter().all(|s| !s.primary()));
        assert_eq!(sides_and_times(&rules), sides_and_times(&signals(Strategy::RsiMacd)));
        assert_eq!(
            sides_and_times(&of("blend")),
            sides_and_times(&signals(Strategy::Mix { context: 1.0, rsi_macd: 0.0 }))
        );
        assert_eq!(rules.len() + of("blend").len(), named.len());
        assert_eq!(e.stream(id).unwrap().signal_count(), (primary.len() + named.len()) as u64);
    }
}
