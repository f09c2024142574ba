//! The `MarketEngine` owns every stream (symbol x interval) and runs klines
//! through them.
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::{BatchColumns, BatchEvents, BatchOutput, KlineColumns, KlineStep, SymbolState};
use crate::candles::{Candle, Interval, PushOutcome};
use crate::config::EngineConfig;
use crate::error::{CoreError, CoreResult};
use crate::scoring::{ContextScore, ContextScorer};
use crate::signals::Side;
use crate::simd;

/// Index of a stream inside the engine (stable for the engine's life).
pub type StreamId = usize;

const NO_STREAM: u32 = u32::MAX;
const MAX_SYMBOL_LEN: usize = 32;

/// Every tracked symbol's buffers, indicators, scorer and evaluator.
#[derive(Debug, Clone)]
pub struct MarketEngine {
    config: EngineConfig,
    scorer: ContextScorer,
    streams: Vec<SymbolState>,
    /// symbol -> stream id per interval (indexed by `Interval::index`).
    index: HashMap<Box<str>, [u32; Interval::ALL.len()]>,
}

impl MarketEngine {
    /// An engine with no streams yet.
    ///
    /// # Errors
    /// `Config` if the configuration does not validate.
    pub fn new(config: EngineConfig) -> CoreResult<Self> {
        config.validate()?;
        let scorer = ContextScorer::new(&config.scoring, &config.patterns);
        Ok(Self { config, scorer, streams: Vec::new(), index: HashMap::new() })
    }

    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Number of streams tracked.
    #[must_use]
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// The id of a stream, if tracked.
    #[must_use]
    pub fn stream_id(&self, symbol: &str, interval: Interval) -> Option<StreamId> {
        let id = self.index.get(symbol)?[interval.index()];
        (id != NO_STREAM).then_some(id as usize)
    }

    /// Tracks a stream (idempotent) and returns its id.
    ///
    /// # Errors
    /// `InvalidParameter` for a symbol that is not 1..=32 ASCII upper-case
    /// letters and digits.
    pub fn track(&mut self, symbol: &str, interval: Interval) -> CoreResult<StreamId> {
        if let Some(id) = self.stream_id(symbol, interval) {
            return Ok(id);
        }
        let valid = !symbol.is_empty()
            && symbol.len() <= MAX_SYMBOL_LEN
            && symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            return Err(CoreError::param(
                "symbol",
                format!("{symbol:?} is not a Binance symbol (1-{MAX_SYMBOL_LEN} upper-case letters and digits)"),
            ));
        }
        let id = self.streams.len();
        let id32 = u32::try_from(id).map_err(|_| CoreError::param("symbol", "too many streams"))?;
        self.streams.push(SymbolState::new(Arc::from(symbol), interval, &self.config)?);
        self.index.entry(symbol.into()).or_insert([NO_STREAM; Interval::ALL.len()])[interval.index()] = id32;
        Ok(id)
    }

    /// The stream with this id.
    ///
    /// # Errors
    /// `InvalidParameter` for an unknown id.
    pub fn stream(&self, id: StreamId) -> CoreResult<&SymbolState> {
        self.streams.get(id).ok_or_else(|| CoreError::param("stream", format!("no stream with id {id}")))
    }

    /// Every stream, in the order they were tracked.
    pub fn streams(&self) -> impl Iterator<Item = &SymbolState> {
        self.streams.iter()
    }

    /// The latest context of a stream.
    #[must_use]
    pub fn context(&self, id: StreamId) -> Option<&ContextScore> {
        self.streams.get(id)?.context()
    }

    /// One kline.
    ///
    /// # Errors
    /// `InvalidParameter` for an unknown stream, `InvalidInput` for a candle
    /// that is not sane (nothing is changed then).
    pub fn on_kline(&mut self, id: StreamId, candle: &Candle, closed: bool, allow_gap: bool) -> CoreResult<KlineStep> {
        if !candle.is_sane() {
            return Err(CoreError::InvalidInput(format!(
                "kline at open_time {} is not a valid candle (prices must be finite and > 0, low <= open, close <= high, volume >= 0)",
                candle.open_time
            )));
        }
        let state = stream_mut(&mut self.streams, id)?;
        let (cfg, scorer) = (&self.config, &self.scorer);
        // The AVX2 + FMA build when the CPU has them, as the batch paths:
        // `mul_add` is one `vfmadd` there, a call to libm's `fma` otherwise.
        Ok(simd::dispatch(
            #[inline(always)]
            || state.on_candle(candle, closed, allow_gap, cfg, scorer),
        ))
    }

    /// Closed klines `range` of columns already checked
    /// ([`KlineColumns::validate`]) through stream `id`, gaps allowed, as
    /// the backtester runs them: `each(i, side, atr)` after kline `i` with
    /// the side of the primary strategy's signal, if one fired, and the
    /// ATR of the latest features (NaN while warming up). No per-kline
    /// sanity check or stream lookup (the columns were checked once).
    ///
    /// # Errors
    /// `InvalidParameter` for an unknown stream.
    pub(crate) fn run_checked(
        &mut self,
        id: StreamId,
        cols: &KlineColumns<'_>,
        range: Range<usize>,
        mut each: impl FnMut(usize, Option<Side>, f64),
    ) -> CoreResult<()> {
        let state = stream_mut(&mut self.streams, id)?;
        let (cfg, scorer) = (&self.config, &self.scorer);
        simd::dispatch(
            #[inline(always)]
            || {
                let cols = cols.trimmed();
                for i in range {
                    let step = state.on_candle(&cols.candle(i), true, true, cfg, scorer);
                    let atr = state.last_features().map_or(f64::NAN, |f| f.atr);
                    each(i, step.signal.map(|s| s.side), atr);
                }
            },
        );
        Ok(())
    }

    /// A batch of klines of one stream, oldest first. Every row is checked
    /// before any is processed. With `allow_gap == false` the batch stops at
    /// the first kline that has candles missing before it
    /// ([`BatchOutput::held_at`]).
    ///
    /// # Errors
    /// As [`MarketEngine::on_kline`], and `InvalidInput` for columns of
    /// different lengths.
    pub fn on_klines(&mut self, id: StreamId, cols: &KlineColumns<'_>, allow_gap: bool) -> CoreResult<BatchOutput> {
        let mut out = BatchOutput::zeroed(cols.len());
        let events = self.on_klines_into(id, cols, allow_gap, &mut out.columns())?;
        out.finish(events);
        Ok(out)
    }

    /// [`MarketEngine::on_klines`] writing its rows into columns the caller
    /// gives (numpy arrays from Python: no allocation per batch on the Rust
    /// side). Row `r` of every column is the `r`-th closed candle appended;
    /// rows past [`BatchEvents::rows`] are left as they were.
    ///
    /// # Errors
    /// As [`MarketEngine::on_klines`], and `InvalidInput` for output
    /// columns shorter than the batch (nothing is changed then).
    pub fn on_klines_into(
        &mut self,
        id: StreamId,
        cols: &KlineColumns<'_>,
        allow_gap: bool,
        out: &mut BatchColumns<'_>,
    ) -> CoreResult<BatchEvents> {
        cols.validate()?;
        if out.capacity() < cols.len() {
            return Err(CoreError::InvalidInput(format!(
                "the output columns hold {} rows, the batch has {}",
                out.capacity(),
                cols.len()
            )));
        }
        let state = stream_mut(&mut self.streams, id)?;
        let (cfg, scorer) = (&self.config, &self.scorer);
        // The whole per-kline update inlines into the dispatched build
        // (`mul_add` is one `vfmadd` there, a call to `fma` otherwise).
        let ev = simd::dispatch(
            #[inline(always)]
            || {
                let cols = cols.trimmed();
                let mut out = out.trimmed(cols.len());
                let mut ev = BatchEvents::default();
                let interval = state.interval();
                for i in 0..cols.len() {
                    let candle = cols.candle(i);
                    let last_before = state.buffer().last_open_time();
                    let step = state.on_candle(&candle, cols.is_closed(i), allow_gap, cfg, scorer);
                    match step.outcome {
                        PushOutcome::GapHeld { expected, missing } => {
                            ev.held_at = Some(i);
                            ev.gaps.push((expected, missing));
                            break;
                        }
                        PushOutcome::AppendedAfterGap { missing } => {
                            let first = last_before.map_or(candle.open_time, |t| interval.next_open(t));
                            ev.gaps.push((first, missing));
                        }
                        _ => {}
                    }
                    if step.outcome.appended() {
                        let ts = interval.close_time(candle.open_time);
                        let scored = if step.scored { state.context() } else { None };
                        out.write(
                            ev.rows,
                            ts,
                            scored.map(|c| (c.score, c.direction as i8, c.pattern as u8, &c.components)),
                        );
                        ev.rows += 1;
                    } else {
                        ev.count(step.outcome);
                    }
                    if let Some(sig) = step.signal {
                        ev.signals.push(*sig);
                    }
                    if !step.named.is_empty() {
                        ev.signals.extend(step.named);
                    }
                }
                ev
            },
        );
        Ok(ev)
    }
}

/// Stream `id` of `streams`, for the per-kline paths (a free function, so
/// the engine's config and scorer can be borrowed beside it).
///
/// # Errors
/// `InvalidParameter` for an unknown id.
fn stream_mut(streams: &mut [SymbolState], id: StreamId) -> CoreResult<&mut SymbolState> {
    let n = streams.len();
    streams.get_mut(id).ok_or_else(|| CoreError::param("stream", format!("no stream with id {id} (tracking {n})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_streams_idempotently_and_validates_symbols() {
        let mut e = MarketEngine::new(EngineConfig::default()).unwrap();
        let a = e.track("BTCUSDT", Interval::M1).unwrap();
        let b = e.track("BTCUSDT", Interval::H1).unwrap();
        assert_ne!(a, b);
        assert_eq!(e.track("BTCUSDT", Interval::M1).unwrap(), a);
        assert_eq!(e.stream_id("BTCUSDT", Interval::H1), Some(b));
        assert_eq!(e.stream_id("ETHUSDT", Interval::M1), None);
        assert!(e.track("btcusdt", Interval::M1).is_err());
        assert!(e.track("", Interval::M1).is_err());
        assert!(e.track("BTC/USDT", Interval::M1).is_err());
    }

    #[test]
    fn an_insane_row_rejects_the_whole_batch_and_changes_nothing() {
        let mut e = MarketEngine::new(EngineConfig::default()).unwrap();
        let id = e.track("BTCUSDT", Interval::M1).unwrap();
        let t = [0, 60_000, 120_000];
        let good = [1.0, 1.0, 1.0];
        let bad = [1.0, f64::NAN, 1.0];
        let cols = KlineColumns::ohlcv(&t, &good, &good, &good, &bad, &good);
        let err = e.on_klines(id, &cols, true).unwrap_err();
        assert!(err.to_string().contains("kline 1"), "{err}");
        assert_eq!(e.stream(id).unwrap().buffer().len(), 0);
    }

    use crate::signals::TradeSignal;

    fn cols(c: &crate::history::CandleColumns) -> KlineColumns<'_> {
        KlineColumns {
            open_time: &c.open_time,
            open: &c.open,
            high: &c.high,
            low: &c.low,
            close: &c.close,
            volume: &c.volume,
            quote_volume: Some(&c.quote_volume),
            trades: Some(&c.trades),
            taker_buy_base: Some(&c.taker_buy_base),
            closed: None,
        }
    }

    #[test]
    fn the_batch_equals_one_kline_at_a_time_bit_for_bit_on_real_candles() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/BTCUSDT-1m.csv.gz");
        let c = crate::history::read_candle_file(&path).unwrap();
        let cfg = EngineConfig::default();
        let mut batch = MarketEngine::new(cfg.clone()).unwrap();
        let id = batch.track("BTCUSDT", Interval::M1).unwrap();
        let out = batch.on_klines(id, &cols(&c), true).unwrap();
        let mut one = MarketEngine::new(cfg).unwrap();
        let id1 = one.track("BTCUSDT", Interval::M1).unwrap();
        let mut signals = Vec::new();
        let mut rows = 0;
        for i in 0..c.len() {
            let step = one.on_kline(id1, &cols(&c).candle(i), true, true).unwrap();
            assert!(step.outcome.appended());
            assert_eq!(out.timestamp[rows], Interval::M1.close_time(c.open_time[i]));
            match one.context(id1).filter(|_| step.scored) {
                Some(ctx) => {
                    assert_eq!(out.score[rows].to_bits(), ctx.score.to_bits(), "row {rows}");
                    assert_eq!(out.direction[rows], ctx.direction as i8);
                    assert_eq!(out.pattern[rows], ctx.pattern as u8);
                    for (k, v) in ctx.components.to_array().into_iter().enumerate() {
                        assert_eq!(out.components[k][rows].to_bits(), v.to_bits(), "row {rows} component {k}");
                    }
                }
                None => assert!(out.score[rows].is_nan() && out.components.iter().all(|col| col[rows].is_nan())),
            }
            rows += 1;
            signals.extend(step.signal.map(|s| *s));
        }
        assert_eq!(out.len(), rows);
        assert!(signals.len() > 100, "{} signals", signals.len());
        // (not `==` on the signals: their features hold NaNs)
        let key = |s: &TradeSignal| (s.generated_at, s.side, s.score.to_bits(), s.confidence.to_bits());
        assert_eq!(out.events.signals.iter().map(key).collect::<Vec<_>>(), signals.iter().map(key).collect::<Vec<_>>());
    }

    #[test]
    fn short_output_columns_are_refused_before_anything_is_processed() {
        let mut e = MarketEngine::new(EngineConfig::default()).unwrap();
        let id = e.track("BTCUSDT", Interval::M1).unwrap();
        let t = [0, 60_000, 120_000];
        let p = [1.0, 1.0, 1.0];
        let cols = KlineColumns::ohlcv(&t, &p, &p, &p, &p, &p);
        let mut out = BatchOutput::zeroed(3);
        out.score.truncate(2);
        let err = e.on_klines_into(id, &cols, true, &mut out.columns()).unwrap_err();
        assert!(err.to_string().contains("hold 2 rows, the batch has 3"), "{err}");
        assert_eq!(e.stream(id).unwrap().buffer().len(), 0);
        let mut out = BatchOutput::zeroed(5);
        let ev = e.on_klines_into(id, &cols, true, &mut out.columns()).unwrap();
        assert_eq!(ev.rows, 3);
        assert_eq!(out.timestamp, [59_999, 119_999, 179_999, 0, 0]);
    }
}
