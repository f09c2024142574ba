//! Bindings for the candle ring buffer and candle files.
use std::path::PathBuf;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::candles::{BufferStats, Candle, CandleBuffer, Interval};
use crate::error::CoreError;
use crate::history::read_candle_file;

pub fn parse_interval(s: &str) -> PyResult<Interval> {
    Ok(s.parse::<Interval>()?)
}

pub fn stats_dict<'py>(py: Python<'py>, s: &BufferStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("appended", s.appended)?;
    d.set_item("forming_updates", s.forming_updates)?;
    d.set_item("duplicates", s.duplicates)?;
    d.set_item("stale", s.stale)?;
    d.set_item("gaps", s.gaps)?;
    d.set_item("missing", s.missing)?;
    d.set_item("misaligned", s.misaligned)?;
    Ok(d)
}

/// Fixed-capacity ring of closed candles with Binance's kline semantics.
#[pyclass(name = "CandleBuffer", module = "avd._core")]
pub struct PyCandleBuffer {
    inner: CandleBuffer,
}

#[pymethods]
impl PyCandleBuffer {
    #[new]
    fn py_new(interval: &str, capacity: usize) -> PyResult<Self> {
        Ok(Self { inner: CandleBuffer::new(parse_interval(interval)?, capacity)? })
    }

    /// Pushes one kline; returns what happened (`"appended"`, `"duplicate"`, ...).
    #[pyo3(name = "push", signature = (open_time, open, high, low, close, volume, *, closed = true, allow_gap = true))]
    #[allow(clippy::too_many_arguments)]
    fn py_push(
        &mut self,
        open_time: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
        closed: bool,
        allow_gap: bool,
    ) -> &'static str {
        let c = Candle::ohlcv(open_time, open, high, low, close, volume);
        self.inner.push(&c, closed, allow_gap).as_str()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    #[getter]
    fn interval(&self) -> &'static str {
        self.inner.interval().as_str()
    }

    /// Open time of the newest closed candle, or None.
    #[getter]
    fn last_open_time(&self) -> Option<i64> {
        self.inner.last_open_time()
    }

    /// Open time the next closed candle should have, or None when empty.
    #[getter]
    fn next_open_time(&self) -> Option<i64> {
        self.inner.last_open_time().map(|t| self.inner.interval().next_open(t))
    }

    /// `(open_time, open, high, low, close, volume)` of the candle in progress.
    #[getter]
    fn forming(&self) -> Option<(i64, f64, f64, f64, f64, f64)> {
        self.inner.forming().map(|c| (c.open_time, c.open, c.high, c.low, c.close, c.volume))
    }

    /// Counters: `appended`, `forming_updates`, `duplicates`, `stale`, `gaps`, `missing`, `misaligned`.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats())
    }

    /// Open times of the closed candles, oldest first.
    fn open_times<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_vec(py, self.inner.open_times())
    }

    /// A named column (`open high low close volume ...`), oldest first.
    fn column<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let v = self.inner.column(name).ok_or_else(|| CoreError::param("name", format!("no column {name:?}")))?;
        Ok(PyArray1::from_vec(py, v))
    }

    fn clear(&mut self) {
        self.inner.clear();
    }

    fn __repr__(&self) -> String {
        format!(
            "CandleBuffer(interval={:?}, capacity={}, len={})",
            self.inner.interval().as_str(),
            self.inner.capacity(),
            self.inner.len()
        )
    }
}

/// Open time of the candle after the one opening at `open_time` (calendar
/// months for `1M`).
#[pyfunction]
#[pyo3(name = "next_open_time")]
pub fn py_next_open_time(interval: &str, open_time: i64) -> PyResult<i64> {
    Ok(parse_interval(interval)?.next_open(open_time))
}

/// Nominal length of an interval in ms (31 days for `1M`).
#[pyfunction]
#[pyo3(name = "interval_ms")]
pub fn py_interval_ms(interval: &str) -> PyResult<i64> {
    Ok(parse_interval(interval)?.millis())
}

/// Reads a candle file (AVD's CSV layout or Binance's raw kline CSV, plain
/// or gzip) into a dict of numpy columns.
#[pyfunction]
#[pyo3(name = "read_candles")]
pub fn py_read_candles(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyDict>> {
    let cols = py.detach(|| read_candle_file(&path))?;
    let d = PyDict::new(py);
    d.set_item("open_time", PyArray1::from_vec(py, cols.open_time))?;
    d.set_item("open", PyArray1::from_vec(py, cols.open))?;
    d.set_item("high", PyArray1::from_vec(py, cols.high))?;
    d.set_item("low", PyArray1::from_vec(py, cols.low))?;
    d.set_item("close", PyArray1::from_vec(py, cols.close))?;
    d.set_item("volume", PyArray1::from_vec(py, cols.volume))?;
    d.set_item("close_time", PyArray1::from_vec(py, cols.close_time))?;
    d.set_item("quote_volume", PyArray1::from_vec(py, cols.quote_volume))?;
    d.set_item("trades", PyArray1::from_vec(py, cols.trades))?;
    d.set_item("taker_buy_base", PyArray1::from_vec(py, cols.taker_buy_base))?;
    d.set_item("taker_buy_quote", PyArray1::from_vec(py, cols.taker_buy_quote))?;
    Ok(d)
}

/// Borrow helper for optional float columns.
pub fn opt_slice<'a>(a: Option<&'a PyReadonlyArray1<'_, f64>>, name: &str) -> PyResult<Option<&'a [f64]>> {
    a.map(|x| super::util::slice(x, name)).transpose()
}
