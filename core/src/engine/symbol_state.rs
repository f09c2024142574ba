//! Everything the engine keeps for one (symbol, interval) stream.
use std::sync::Arc;

use crate::candles::{Candle, CandleBuffer, Interval, PushOutcome};
use crate::config::EngineConfig;
use crate::error::CoreResult;
use crate::patterns::{self, FeatureSet, Features};
use crate::scoring::{ContextScore, ContextScorer};
use crate::signals::{SignalEvaluator, TradeSignal};

/// What one kline did.
#[derive(Debug, Clone, PartialEq)]
pub struct KlineStep {
    /// What the ring buffer did with it.
    pub outcome: PushOutcome,
    /// Whether a new context score was computed (a closed candle past warm-up).
    pub scored: bool,
    /// The signal it fired, if any (boxed: signals are rare, and a small
    /// step is cheap to return on every kline).
    pub signal: Option<Box<TradeSignal>>,
}

/// One stream's buffer, features, evaluator and latest context.
#[derive(Debug, Clone)]
pub struct SymbolState {
    symbol: Arc<str>,
    interval: Interval,
    buffer: CandleBuffer,
    features: FeatureSet,
    evaluator: SignalEvaluator,
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
            features: FeatureSet::new(&cfg.indicators)?,
            evaluator: SignalEvaluator::new(&cfg.signals),
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

    #[must_use]
    pub fn evaluator(&self) -> &SignalEvaluator {
        &self.evaluator
    }

    /// Last price seen: the forming candle's close, else the last closed one.
    #[must_use]
    pub fn last_price(&self) -> Option<f64> {
        self.buffer.forming().or_else(|| self.buffer.last()).map(|c| c.close)
    }

    /// Runs one kline through buffer, features, patterns, scorer and evaluator.
    pub fn on_candle(
        &mut self,
        candle: &Candle,
        closed: bool,
        allow_gap: bool,
        cfg: &EngineConfig,
        scorer: &ContextScorer,
    ) -> KlineStep {
        let outcome = self.buffer.push(candle, closed, allow_gap);
        if !outcome.appended() {
            return KlineStep { outcome, scored: false, signal: None };
        }
        if !self.features.advance(candle) {
            return KlineStep { outcome, scored: false, signal: None };
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
        let signal = self.evaluator.evaluate(ctx, f).map(Box::new);
        if let Some(s) = &signal {
            self.signals += 1;
            self.last_signal = Some(TradeSignal::clone(s));
        }
        KlineStep { outcome, scored: true, signal }
    }
}
