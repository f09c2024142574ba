//! Bindings for the strategy backtester, the sweeps and walk-forward.
//!
//! Series come in as dicts of numpy columns (see `avd/_core.pyi`); the runs
//! release the GIL. Sweep and walk-forward results are small and come back
//! as JSON text.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{json, Value};

use crate::backtest::sweep::{plan, rank_key, run_sweep, run_sweep_range, walk_forward_range, SweepSpec};
use crate::backtest::{run_backtest, BacktestConfig, LowerSeries, Series, Stats, Window};
use crate::candles::Interval;
use crate::engine::KlineColumns;
use crate::error::CoreError;

/// A counter of candles processed, polled by a progress bar while a run
/// holds no GIL.
#[pyclass(name = "Progress", module = "avd._core", frozen)]
pub struct PyProgress {
    done: Arc<AtomicU64>,
}

#[pymethods]
impl PyProgress {
    #[new]
    fn py_new() -> Self {
        Self { done: Arc::new(AtomicU64::new(0)) }
    }

    /// Candles processed so far.
    #[getter]
    fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

type F<'py> = PyReadonlyArray1<'py, f64>;

struct Held<'py> {
    symbol: String,
    interval: Interval,
    t: PyReadonlyArray1<'py, i64>,
    ohlcv: [F<'py>; 5],
    extra: [Option<F<'py>>; 3],
    signals: Option<PyReadonlyArray1<'py, i8>>,
    lower: Option<(Interval, PyReadonlyArray1<'py, i64>, [F<'py>; 4])>,
}

fn item<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(d.get_item(key)?.filter(|v| !v.is_none()))
}

fn need<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    item(d, key)?.ok_or_else(|| CoreError::InvalidInput(format!("series has no `{key}`")).into())
}

fn floats<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<F<'py>> {
    need(d, key)?
        .extract::<F<'py>>()
        .map_err(|_| CoreError::InvalidInput(format!("series `{key}` must be a float64 array")).into())
}

fn times<'py>(d: &Bound<'py, PyDict>) -> PyResult<PyReadonlyArray1<'py, i64>> {
    need(d, "open_time")?
        .extract::<PyReadonlyArray1<'py, i64>>()
        .map_err(|_| CoreError::InvalidInput("series `open_time` must be an int64 array".into()).into())
}

fn interval(d: &Bound<'_, PyDict>) -> PyResult<Interval> {
    Ok(need(d, "interval")?.extract::<String>()?.parse::<Interval>()?)
}

fn hold<'py>(d: &Bound<'py, PyDict>) -> PyResult<Held<'py>> {
    let opt = |k: &str| -> PyResult<Option<F<'py>>> { item(d, k)?.map(|_| floats(d, k)).transpose() };
    let lower = match item(d, "lower")? {
        Some(l) => {
            let l = l.cast_into::<PyDict>()?;
            Some((
                interval(&l)?,
                times(&l)?,
                [floats(&l, "open")?, floats(&l, "high")?, floats(&l, "low")?, floats(&l, "close")?],
            ))
        }
        None => None,
    };
    Ok(Held {
        symbol: need(d, "symbol")?.extract()?,
        interval: interval(d)?,
        t: times(d)?,
        ohlcv: [floats(d, "open")?, floats(d, "high")?, floats(d, "low")?, floats(d, "close")?, floats(d, "volume")?],
        extra: [opt("quote_volume")?, opt("trades")?, opt("taker_buy_base")?],
        signals: item(d, "signals")?
            .map(|s| {
                s.extract::<PyReadonlyArray1<'py, i8>>()
                    .map_err(|_| PyErr::from(CoreError::InvalidInput("series `signals` must be an int8 array".into())))
            })
            .transpose()?,
        lower,
    })
}

fn contiguous<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| CoreError::InvalidInput(format!("`{name}` must be a contiguous array")).into())
}

fn series<'a>(h: &'a Held<'_>) -> PyResult<Series<'a>> {
    let f = |i: usize, n: &str| contiguous(&h.ohlcv[i], n);
    let x = |i: usize, n: &str| h.extra[i].as_ref().map(|a| contiguous(a, n)).transpose();
    Ok(Series {
        symbol: &h.symbol,
        interval: h.interval,
        cols: KlineColumns {
            open_time: contiguous(&h.t, "open_time")?,
            open: f(0, "open")?,
            high: f(1, "high")?,
            low: f(2, "low")?,
            close: f(3, "close")?,
            volume: f(4, "volume")?,
            quote_volume: x(0, "quote_volume")?,
            trades: x(1, "trades")?,
            taker_buy_base: x(2, "taker_buy_base")?,
            closed: None,
        },
        lower: h
            .lower
            .as_ref()
            .map(|(iv, t, c)| -> PyResult<LowerSeries<'_>> {
                Ok(LowerSeries {
                    interval: *iv,
                    open_time: contiguous(t, "lower.open_time")?,
                    open: contiguous(&c[0], "lower.open")?,
                    high: contiguous(&c[1], "lower.high")?,
                    low: contiguous(&c[2], "lower.low")?,
                    close: contiguous(&c[3], "lower.close")?,
                })
            })
            .transpose()?,
        signals: h.signals.as_ref().map(|s| contiguous(s, "signals")).transpose()?,
    })
}

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in s.fields() {
        if name == "trades" {
            d.set_item(name, s.trades)?;
        } else {
            d.set_item(name, v)?;
        }
    }
    Ok(d)
}

fn stats_json(s: &Stats) -> Value {
    Value::Object(s.fields().iter().map(|(n, v)| ((*n).to_owned(), json!(v))).collect())
}

fn config(text: &str) -> PyResult<BacktestConfig> {
    Ok(BacktestConfig::from_json(text)?)
}

/// Runs the strategy backtest of `series` (a list of dicts of columns) with
/// the JSON configuration; returns a dict: `trades` (dict of columns),
/// `times`, `equity`, `drawdown` (arrays), `stats`, `counters` (dicts).
#[pyfunction]
#[pyo3(name = "run_backtest", signature = (config_json, series, *, start = None, end = None, progress = None))]
pub fn py_run_backtest<'py>(
    py: Python<'py>,
    config_json: &str,
    series: Vec<Bound<'py, PyDict>>,
    start: Option<i64>,
    end: Option<i64>,
    progress: Option<PyRef<'py, PyProgress>>,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = config(config_json)?;
    let held = series.iter().map(hold).collect::<PyResult<Vec<_>>>()?;
    let data = held.iter().map(series_of).collect::<PyResult<Vec<_>>>()?;
    let counter = progress.map(|p| p.done.clone());
    let r = py.detach(|| run_backtest(&cfg, &data, Window { start, end }, counter.as_deref()))?;
    let st = r.stats();
    let out = PyDict::new(py);
    let t = &r.trades;
    let trades = PyDict::new(py);
    let fcol = |f: fn(&crate::backtest::BacktestTrade) -> f64| PyArray1::from_iter(py, t.iter().map(f));
    let icol = |f: fn(&crate::backtest::BacktestTrade) -> i64| PyArray1::from_iter(py, t.iter().map(f));
    trades.set_item("symbol", t.iter().map(|x| held[x.symbol].symbol.as_str()).collect::<Vec<_>>())?;
    trades.set_item("side", icol(|x| i64::from(x.side)))?;
    trades.set_item("signal_time", icol(|x| x.signal_time))?;
    trades.set_item("entry_time", icol(|x| x.entry_time))?;
    trades.set_item("exit_time", icol(|x| x.exit_time))?;
    trades.set_item("entry_bar", icol(|x| x.entry_bar as i64))?;
    trades.set_item("exit_bar", icol(|x| x.exit_bar as i64))?;
    trades.set_item("entry_price", fcol(|x| x.entry_price))?;
    trades.set_item("exit_price", fcol(|x| x.exit_price))?;
    trades.set_item("qty", fcol(|x| x.qty))?;
    trades.set_item("pnl", fcol(|x| x.pnl))?;
    trades.set_item("return_pct", fcol(|x| x.return_pct))?;
    trades.set_item("fees", fcol(|x| x.fees))?;
    trades.set_item("stop", fcol(|x| x.stop))?;
    trades.set_item("partials", icol(|x| i64::from(x.partials)))?;
    trades.set_item("reason", t.iter().map(|x| x.reason.as_str()).collect::<Vec<_>>())?;
    out.set_item("trades", trades)?;
    out.set_item("drawdown", PyArray1::from_vec(py, r.drawdown()))?;
    out.set_item("times", PyArray1::from_slice(py, &r.times))?;
    out.set_item("equity", PyArray1::from_slice(py, &r.equity))?;
    out.set_item("stats", stats_dict(py, &st)?)?;
    let c = PyDict::new(py);
    c.set_item("candles", r.counters.candles)?;
    c.set_item("signals", r.counters.signals)?;
    c.set_item("skipped", r.counters.skipped)?;
    c.set_item("stop_moves", r.counters.stop_moves)?;
    c.set_item("lower_tf_bars", r.counters.lower_tf_bars)?;
    c.set_item("bars_in_market", r.bars_in_market)?;
    c.set_item("periods_per_year", r.periods_per_year)?;
    out.set_item("counters", c)?;
    Ok(out)
}

fn series_of<'a>(h: &'a Held<'_>) -> PyResult<Series<'a>> {
    series(h)
}

fn spec(text: &str, threads: Option<usize>) -> PyResult<SweepSpec> {
    let mut s = SweepSpec::from_json(text)?;
    if let Some(t) = threads {
        s.threads = t;
    }
    Ok(s)
}

/// Runs a grid or random sweep in parallel (rayon; `threads` overrides the
/// spec's, 0 = every core); returns JSON: `{"metric", "params", "rows":
/// [{"values", "score", "stats"}]}`, best first.
#[pyfunction]
#[pyo3(name = "run_sweep", signature = (config_json, spec_json, series, *, start = None, end = None, threads = None))]
pub fn py_run_sweep<'py>(
    py: Python<'py>,
    config_json: &str,
    spec_json: &str,
    series: Vec<Bound<'py, PyDict>>,
    start: Option<i64>,
    end: Option<i64>,
    threads: Option<usize>,
) -> PyResult<String> {
    let cfg = config(config_json)?;
    let sp = spec(spec_json, threads)?;
    let held = series.iter().map(hold).collect::<PyResult<Vec<_>>>()?;
    let data = held.iter().map(series_of).collect::<PyResult<Vec<_>>>()?;
    let r = py.detach(|| run_sweep(&cfg, &sp, &data, Window { start, end }))?;
    let rows: Vec<Value> = r
        .rows
        .iter()
        .map(|row| json!({"values": row.values, "score": row.score, "stats": stats_json(&row.stats)}))
        .collect();
    Ok(json!({"metric": r.metric, "params": r.params, "rows": rows}).to_string())
}

/// Checks a sweep without running it; returns JSON: `{"metric", "params",
/// "count"}` (the number of combinations).
#[pyfunction]
#[pyo3(name = "sweep_plan")]
pub fn py_sweep_plan(config_json: &str, spec_json: &str) -> PyResult<String> {
    let cfg = config(config_json)?;
    let sp = spec(spec_json, None)?;
    let (params, count) = plan(&cfg, &sp)?;
    Ok(json!({"metric": sp.metric, "params": params, "count": count}).to_string())
}

/// Runs the combinations `lo..hi` of a sweep (one chunk of a distributed
/// sweep); returns JSON: `{"metric", "params", "rows": [{"index", "values",
/// "score", "rank_key", "stats"}]}` in combination order, not ranked:
/// sorting all chunks' rows by `rank_key` descending, then `index`, gives
/// the order of [`py_run_sweep`].
#[pyfunction]
#[pyo3(name = "run_sweep_chunk", signature = (config_json, spec_json, series, lo, hi, *, start = None, end = None, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn py_run_sweep_chunk<'py>(
    py: Python<'py>,
    config_json: &str,
    spec_json: &str,
    series: Vec<Bound<'py, PyDict>>,
    lo: usize,
    hi: usize,
    start: Option<i64>,
    end: Option<i64>,
    threads: Option<usize>,
) -> PyResult<String> {
    let cfg = config(config_json)?;
    let sp = spec(spec_json, threads)?;
    let held = series.iter().map(hold).collect::<PyResult<Vec<_>>>()?;
    let data = held.iter().map(series_of).collect::<PyResult<Vec<_>>>()?;
    let r = py.detach(|| run_sweep_range(&cfg, &sp, &data, Window { start, end }, lo..hi))?;
    let rows: Vec<Value> = r
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            json!({"index": lo + i, "values": row.values, "score": row.score, "rank_key": rank_key(row.score),
                   "stats": stats_json(&row.stats)})
        })
        .collect();
    Ok(json!({"metric": r.metric, "params": r.params, "rows": rows}).to_string())
}

/// Walk-forward analysis; returns JSON: `{"metric", "params", "windows":
/// [{"train_start", "train_end", "test_end", "best", "train_score",
/// "test_score", "test"}]}`. With `windows=(lo, hi)` only those windows are
/// run and `"count"` (the number of windows) is added: a distributed run
/// sends the windows apart.
#[pyfunction]
#[pyo3(name = "walk_forward", signature = (config_json, spec_json, series, *, threads = None, windows = None))]
pub fn py_walk_forward<'py>(
    py: Python<'py>,
    config_json: &str,
    spec_json: &str,
    series: Vec<Bound<'py, PyDict>>,
    threads: Option<usize>,
    windows: Option<(usize, usize)>,
) -> PyResult<String> {
    let cfg = config(config_json)?;
    let sp = spec(spec_json, threads)?;
    let held = series.iter().map(hold).collect::<PyResult<Vec<_>>>()?;
    let data = held.iter().map(series_of).collect::<PyResult<Vec<_>>>()?;
    let (r, count) = py.detach(|| walk_forward_range(&cfg, &sp, &data, windows.map(|(a, b)| a..b)))?;
    let wins: Vec<Value> = r
        .windows
        .iter()
        .map(|w| {
            json!({"train_start": w.train_start, "train_end": w.train_end, "test_end": w.test_end,
                   "best": w.best, "train_score": w.train_score, "test_score": w.test_score,
                   "test": stats_json(&w.test)})
        })
        .collect();
    let mut doc = json!({"metric": r.metric, "params": r.params, "windows": wins});
    if windows.is_some() {
        doc["count"] = json!(count);
    }
    Ok(doc.to_string())
}

/// The default configuration as JSON (every key, documented in the README).
#[pyfunction]
#[pyo3(name = "default_backtest_config")]
pub fn py_default_backtest_config() -> String {
    BacktestConfig::default().to_json()
}

/// Validates a configuration document; returns it normalised (every key).
#[pyfunction]
#[pyo3(name = "check_backtest_config")]
pub fn py_check_backtest_config(config_json: &str) -> PyResult<String> {
    Ok(config(config_json)?.to_json())
}
