//! Bindings for the `MarketEngine`, its configuration and its events.
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadwriteArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySlice};

use super::candles::{opt_slice, parse_interval, stats_dict};
use super::util::{empty, slice};
use crate::candles::Candle;
use crate::config::EngineConfig;
use crate::engine::{BatchColumns, BatchEvents, KlineColumns, MarketEngine, StreamId};
use crate::error::CoreError;
use crate::patterns::Pattern;
use crate::scoring::{Components, ContextScore};
use crate::signals::TradeSignal;

/// The engine's configuration (every value has a documented default).
#[pyclass(name = "EngineConfig", module = "avd._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyEngineConfig {
    pub inner: EngineConfig,
}

#[pymethods]
impl PyEngineConfig {
    /// The defaults, or a JSON document (missing keys take the defaults).
    #[new]
    #[pyo3(signature = (json = None))]
    fn py_new(json: Option<&str>) -> PyResult<Self> {
        let inner = match json {
            Some(text) => EngineConfig::from_json(text)?,
            None => EngineConfig::default(),
        };
        Ok(Self { inner })
    }

    /// The configuration as JSON, every key present.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    fn __repr__(&self) -> String {
        format!("EngineConfig({})", serde_json::to_string(&self.inner).unwrap_or_default())
    }
}

fn components_dict<'py>(py: Python<'py>, c: &Components) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in Components::NAMES.iter().zip(c.to_array()) {
        d.set_item(*name, v)?;
    }
    Ok(d)
}

/// The context of one symbol after a closed candle.
#[pyclass(name = "ContextScore", module = "avd._core", frozen)]
pub struct PyContextScore {
    inner: ContextScore,
}

#[pymethods]
impl PyContextScore {
    #[getter]
    fn symbol(&self) -> &str {
        &self.inner.symbol
    }
    #[getter]
    fn interval(&self) -> &'static str {
        self.inner.interval.as_str()
    }
    /// 0..100: how strong the current setup is, in `direction`.
    #[getter]
    fn score(&self) -> f64 {
        self.inner.score
    }
    /// `"long"`, `"short"` or `"neutral"`.
    #[getter]
    fn direction(&self) -> &'static str {
        self.inner.direction.as_str()
    }
    /// `"breakout"`, `"accumulation"`, `"distribution"`, `"trend"`, `"range"` or `"none"`.
    #[getter]
    fn pattern(&self) -> &'static str {
        self.inner.pattern.as_str()
    }
    #[getter]
    fn pattern_strength(&self) -> f64 {
        self.inner.pattern_strength
    }
    /// The sub-scores (0..100) that explain the score.
    #[getter]
    fn components<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        components_dict(py, &self.inner.components)
    }
    /// Close time of the candle (ms since the epoch, UTC).
    #[getter]
    fn timestamp(&self) -> i64 {
        self.inner.timestamp
    }
    #[getter]
    fn close(&self) -> f64 {
        self.inner.close
    }
    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "ContextScore(symbol={:?}, interval={:?}, score={:.2}, direction={:?}, pattern={:?}, timestamp={})",
            &*c.symbol,
            c.interval.as_str(),
            c.score,
            c.direction.as_str(),
            c.pattern.as_str(),
            c.timestamp
        )
    }
}

/// A directional trade signal.
#[pyclass(name = "TradeSignal", module = "avd._core", frozen)]
pub struct PyTradeSignal {
    inner: TradeSignal,
}

#[pymethods]
impl PyTradeSignal {
    #[getter]
    fn symbol(&self) -> &str {
        &self.inner.symbol
    }
    #[getter]
    fn interval(&self) -> &'static str {
        self.inner.interval.as_str()
    }
    /// `"BUY"` or `"SELL"`.
    #[getter]
    fn side(&self) -> &'static str {
        self.inner.side.as_str()
    }
    /// 0..1.
    #[getter]
    fn confidence(&self) -> f64 {
        self.inner.confidence
    }
    /// The pattern and the numbers behind the signal.
    #[getter]
    fn reason(&self) -> String {
        self.inner.reason()
    }
    /// Close time of the candle that fired it (ms since the epoch, UTC).
    #[getter]
    fn generated_at(&self) -> i64 {
        self.inner.generated_at
    }
    #[getter]
    fn score(&self) -> f64 {
        self.inner.score
    }
    #[getter]
    fn pattern(&self) -> &'static str {
        self.inner.pattern.as_str()
    }
    #[getter]
    fn price(&self) -> f64 {
        self.inner.price
    }
    /// The strategy that fired it: a named strategy's name
    /// (`EngineConfig.strategies`), else the primary one's: `"context"`,
    /// `"rsi_macd"` or `"mix"`.
    #[getter]
    fn strategy(&self) -> &str {
        self.inner.strategy_name()
    }
    /// Whether the engine's primary strategy fired it (not a named one).
    #[getter]
    fn primary(&self) -> bool {
        self.inner.primary()
    }
    /// The RSI/MACD rules counting on its side (`"rsi"`, `"macd_cross"`,
    /// `"hist_turn"`); empty for the context strategy.
    #[getter]
    fn rules(&self) -> Vec<&'static str> {
        self.inner.rules().map(|r| r.rule.as_str()).collect()
    }
    fn __repr__(&self) -> String {
        let s = &self.inner;
        format!(
            "TradeSignal(symbol={:?}, side={:?}, confidence={:.3}, pattern={:?}, generated_at={})",
            &*s.symbol,
            s.side.as_str(),
            s.confidence,
            s.pattern.as_str(),
            s.generated_at
        )
    }
}

/// Columnar result of `MarketEngine.on_klines`: one row per closed candle
/// appended (score NaN while warming up), plus the signals fired.
#[pyclass(name = "BatchResult", module = "avd._core", frozen)]
pub struct PyBatchResult {
    symbol: String,
    interval: &'static str,
    #[pyo3(get)]
    timestamp: Py<PyArray1<i64>>,
    #[pyo3(get)]
    score: Py<PyArray1<f64>>,
    #[pyo3(get)]
    direction: Py<PyArray1<i8>>,
    /// Pattern codes; `BatchResult.PATTERNS[code]` is the name.
    #[pyo3(get)]
    pattern: Py<PyArray1<u8>>,
    #[pyo3(get)]
    components: Py<PyDict>,
    #[pyo3(get)]
    signals: Py<PyList>,
    /// Klines ignored as duplicates or stale.
    #[pyo3(get)]
    ignored: u64,
    /// In-progress updates applied.
    #[pyo3(get)]
    forming_updates: u64,
    /// Gaps crossed: (open time of the first missing candle, candles missing).
    #[pyo3(get)]
    gaps: Vec<(i64, u64)>,
    /// With `allow_gap=False`: index of the kline not processed because
    /// candles are missing before it (the batch stopped there).
    #[pyo3(get)]
    held_at: Option<usize>,
    len: usize,
}

#[pymethods]
impl PyBatchResult {
    /// Pattern names by code.
    #[classattr]
    #[allow(non_snake_case)]
    fn PATTERNS() -> Vec<&'static str> {
        Pattern::ALL.iter().map(|p| p.as_str()).collect()
    }

    fn __len__(&self) -> usize {
        self.len
    }

    #[getter]
    fn symbol(&self) -> &str {
        &self.symbol
    }

    #[getter]
    fn interval(&self) -> &'static str {
        self.interval
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "BatchResult(symbol={:?}, interval={:?}, rows={}, signals={})",
            self.symbol,
            self.interval,
            self.len,
            self.signals.bind(py).len()
        )
    }
}

/// The first `rows` elements of `a` (a view when the batch wrote fewer
/// rows than it had klines).
fn head<T: numpy::Element>(py: Python<'_>, a: Bound<'_, PyArray1<T>>, rows: usize) -> PyResult<Py<PyArray1<T>>> {
    if a.len() == rows {
        return Ok(a.unbind());
    }
    let end = isize::try_from(rows).map_err(|_| CoreError::InvalidInput("too many rows".into()))?;
    Ok(a.get_item(PySlice::new(py, 0, end, 1))?.cast_into::<PyArray1<T>>()?.unbind())
}

/// The output columns of a batch of `n` klines.
struct OutArrays<'py> {
    timestamp: Bound<'py, PyArray1<i64>>,
    score: Bound<'py, PyArray1<f64>>,
    direction: Bound<'py, PyArray1<i8>>,
    pattern: Bound<'py, PyArray1<u8>>,
    components: [Bound<'py, PyArray1<f64>>; 6],
}

impl<'py> OutArrays<'py> {
    fn new(py: Python<'py>, n: usize) -> PyResult<Self> {
        let f = || empty::<f64>(py, n);
        Ok(Self {
            timestamp: empty(py, n)?,
            score: f()?,
            direction: empty(py, n)?,
            pattern: empty(py, n)?,
            components: [f()?, f()?, f()?, f()?, f()?, f()?],
        })
    }

    fn result(self, py: Python<'py>, symbol: &str, interval: &'static str, ev: BatchEvents) -> PyResult<PyBatchResult> {
        let rows = ev.rows;
        let comps = PyDict::new(py);
        for (name, col) in Components::NAMES.iter().zip(self.components) {
            comps.set_item(*name, head(py, col, rows)?)?;
        }
        let signals = PyList::empty(py);
        for s in ev.signals {
            signals.append(Py::new(py, PyTradeSignal { inner: s })?)?;
        }
        Ok(PyBatchResult {
            symbol: symbol.to_owned(),
            interval,
            timestamp: head(py, self.timestamp, rows)?,
            score: head(py, self.score, rows)?,
            direction: head(py, self.direction, rows)?,
            pattern: head(py, self.pattern, rows)?,
            components: comps.unbind(),
            signals: signals.unbind(),
            ignored: ev.ignored,
            forming_updates: ev.forming_updates,
            gaps: ev.gaps,
            held_at: ev.held_at,
            len: rows,
        })
    }
}

fn writable<'a, T: numpy::Element>(a: &'a mut PyReadwriteArray1<'_, T>) -> PyResult<&'a mut [T]> {
    a.as_slice_mut().map_err(|_| CoreError::InvalidInput("a fresh output array is not contiguous".into()).into())
}

/// Every symbol's buffers, indicators, scorer and evaluator.
#[pyclass(name = "MarketEngine", module = "avd._core")]
pub struct PyMarketEngine {
    inner: MarketEngine,
}

impl PyMarketEngine {
    fn id(&mut self, symbol: &str, interval: &str) -> PyResult<StreamId> {
        let interval = parse_interval(interval)?;
        Ok(self.inner.track(symbol, interval)?)
    }

    fn existing(&self, symbol: &str, interval: &str) -> PyResult<StreamId> {
        let iv = parse_interval(interval)?;
        self.inner.stream_id(symbol, iv).ok_or_else(|| {
            CoreError::param("symbol", format!("{symbol} {interval} is not tracked by this engine")).into()
        })
    }
}

#[pymethods]
impl PyMarketEngine {
    #[new]
    #[pyo3(signature = (config = None))]
    fn py_new(config: Option<PyRef<'_, PyEngineConfig>>) -> PyResult<Self> {
        let cfg = config.map(|c| c.inner.clone()).unwrap_or_default();
        Ok(Self { inner: MarketEngine::new(cfg)? })
    }

    #[getter]
    fn config(&self) -> PyEngineConfig {
        PyEngineConfig { inner: self.inner.config().clone() }
    }

    /// Starts tracking a stream (idempotent).
    fn track(&mut self, symbol: &str, interval: &str) -> PyResult<()> {
        self.id(symbol, interval).map(|_| ())
    }

    /// `(symbol, interval)` of every tracked stream.
    fn streams(&self) -> Vec<(String, &'static str)> {
        self.inner.streams().map(|s| (s.symbol().to_string(), s.interval().as_str())).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// One kline; returns the events it produced (`ContextScore`, then
    /// `TradeSignal` if one fired). Streams are tracked on first use.
    #[pyo3(signature = (symbol, interval, open_time, open, high, low, close, volume, *, closed = true,
                        quote_volume = f64::NAN, trades = f64::NAN, taker_buy_base = f64::NAN, allow_gap = true))]
    #[allow(clippy::too_many_arguments)]
    fn on_kline<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        interval: &str,
        open_time: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
        closed: bool,
        quote_volume: f64,
        trades: f64,
        taker_buy_base: f64,
        allow_gap: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = self.id(symbol, interval)?;
        let candle = Candle { open_time, open, high, low, close, volume, quote_volume, trades, taker_buy_base };
        let step = self.inner.on_kline(id, &candle, closed, allow_gap)?;
        let events = PyList::empty(py);
        if step.scored {
            if let Some(ctx) = self.inner.context(id) {
                events.append(Py::new(py, PyContextScore { inner: ctx.clone() })?)?;
            }
        }
        if let Some(s) = step.signal {
            events.append(Py::new(py, PyTradeSignal { inner: *s })?)?;
        }
        for s in step.named {
            events.append(Py::new(py, PyTradeSignal { inner: s })?)?;
        }
        Ok(events)
    }

    /// A batch of klines of one stream, as numpy columns, oldest first.
    /// Every row is validated before any is processed.
    #[pyo3(signature = (symbol, interval, open_time, open, high, low, close, volume, *, quote_volume = None,
                        trades = None, taker_buy_base = None, closed = None, allow_gap = true))]
    #[allow(clippy::too_many_arguments)]
    fn on_klines(
        &mut self,
        py: Python<'_>,
        symbol: &str,
        interval: &str,
        open_time: PyReadonlyArray1<'_, i64>,
        open: PyReadonlyArray1<'_, f64>,
        high: PyReadonlyArray1<'_, f64>,
        low: PyReadonlyArray1<'_, f64>,
        close: PyReadonlyArray1<'_, f64>,
        volume: PyReadonlyArray1<'_, f64>,
        quote_volume: Option<PyReadonlyArray1<'_, f64>>,
        trades: Option<PyReadonlyArray1<'_, f64>>,
        taker_buy_base: Option<PyReadonlyArray1<'_, f64>>,
        closed: Option<PyReadonlyArray1<'_, bool>>,
        allow_gap: bool,
    ) -> PyResult<PyBatchResult> {
        let id = self.id(symbol, interval)?;
        let iv = self.inner.stream(id)?.interval().as_str();
        let closed_slice = closed
            .as_ref()
            .map(|c| c.as_slice().map_err(|_| CoreError::InvalidInput("`closed` must be contiguous".into())))
            .transpose()?;
        let open_time_slice = open_time
            .as_slice()
            .map_err(|_| CoreError::InvalidInput("`open_time` must be a contiguous int64 array".into()))?;
        let cols = KlineColumns {
            open_time: open_time_slice,
            open: slice(&open, "open")?,
            high: slice(&high, "high")?,
            low: slice(&low, "low")?,
            close: slice(&close, "close")?,
            volume: slice(&volume, "volume")?,
            quote_volume: opt_slice(quote_volume.as_ref(), "quote_volume")?,
            trades: opt_slice(trades.as_ref(), "trades")?,
            taker_buy_base: opt_slice(taker_buy_base.as_ref(), "taker_buy_base")?,
            closed: closed_slice,
        };
        let arrays = OutArrays::new(py, cols.len())?;
        let events = {
            let (mut ts, mut sc, mut di, mut pa) = (
                arrays.timestamp.readwrite(),
                arrays.score.readwrite(),
                arrays.direction.readwrite(),
                arrays.pattern.readwrite(),
            );
            let [mut c0, mut c1, mut c2, mut c3, mut c4, mut c5] =
                arrays.components.each_ref().map(PyArrayMethods::readwrite);
            let mut out = BatchColumns {
                timestamp: writable(&mut ts)?,
                score: writable(&mut sc)?,
                direction: writable(&mut di)?,
                pattern: writable(&mut pa)?,
                components: [
                    writable(&mut c0)?,
                    writable(&mut c1)?,
                    writable(&mut c2)?,
                    writable(&mut c3)?,
                    writable(&mut c4)?,
                    writable(&mut c5)?,
                ],
            };
            let engine = &mut self.inner;
            py.detach(|| engine.on_klines_into(id, &cols, allow_gap, &mut out))?
        };
        arrays.result(py, symbol, iv, events)
    }

    /// The latest context of a stream (None while warming up).
    fn context(&self, symbol: &str, interval: &str) -> PyResult<Option<PyContextScore>> {
        let id = self.existing(symbol, interval)?;
        Ok(self.inner.context(id).map(|c| PyContextScore { inner: c.clone() }))
    }

    /// The latest context of every stream that has one.
    fn contexts(&self) -> Vec<PyContextScore> {
        self.inner.streams().filter_map(|s| s.context()).map(|c| PyContextScore { inner: c.clone() }).collect()
    }

    /// Named indicator values of a stream after its last closed candle.
    fn indicators<'py>(&self, py: Python<'py>, symbol: &str, interval: &str) -> PyResult<Bound<'py, PyDict>> {
        let id = self.existing(symbol, interval)?;
        let d = PyDict::new(py);
        for (name, v) in self.inner.stream(id)?.features().values() {
            d.set_item(name, v)?;
        }
        Ok(d)
    }

    /// The signal state and counters of a stream.
    fn state<'py>(&self, py: Python<'py>, symbol: &str, interval: &str) -> PyResult<Bound<'py, PyDict>> {
        let id = self.existing(symbol, interval)?;
        let s = self.inner.stream(id)?;
        let d = PyDict::new(py);
        let (long, short) = s.evaluator().armed();
        d.set_item("bars", s.features().bars())?;
        d.set_item("ready", s.context().is_some())?;
        d.set_item("last_price", s.last_price())?;
        d.set_item("last_open_time", s.buffer().last_open_time())?;
        d.set_item("long_armed", long)?;
        d.set_item("short_armed", short)?;
        d.set_item("cooldown_left", s.evaluator().cooldown_left())?;
        d.set_item("signals", s.signal_count())?;
        d.set_item("last_signal", s.last_signal().map(|x| PyTradeSignal { inner: x.clone() }))?;
        let signal_score = match s.signal_score() {
            Some(x) => {
                let sd = PyDict::new(py);
                sd.set_item("strategy", x.strategy.as_str())?;
                sd.set_item("score", x.score)?;
                sd.set_item("direction", x.direction.as_str())?;
                sd.set_item("context", x.context)?;
                sd.set_item("rules", x.rules)?;
                Some(sd)
            }
            None => None,
        };
        d.set_item("signal_score", signal_score)?;
        d.set_item("buffer", stats_dict(py, &s.buffer().stats())?)?;
        Ok(d)
    }

    /// The closed candles a stream holds, as numpy columns, oldest first.
    fn candles<'py>(&self, py: Python<'py>, symbol: &str, interval: &str) -> PyResult<Bound<'py, PyDict>> {
        let id = self.existing(symbol, interval)?;
        let b = self.inner.stream(id)?.buffer();
        let d = PyDict::new(py);
        d.set_item("open_time", PyArray1::from_vec(py, b.open_times()))?;
        for name in ["open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base"] {
            d.set_item(name, PyArray1::from_vec(py, b.column(name).unwrap_or_default()))?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("MarketEngine(streams={})", self.inner.len())
    }
}
