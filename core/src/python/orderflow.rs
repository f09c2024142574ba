//! Bindings for order flow: batch CVD and kline delta over numpy arrays
//! (GIL released), and the streaming `OrderFlow`.
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::CoreError;
use crate::orderflow::{self as of, CandleFlow, FlowConfig, OrderFlow};
use crate::python::candles::parse_interval;
use crate::python::util::{same_len, slice};

type Array1<'py> = PyReadonlyArray1<'py, f64>;
type Array<'py> = Bound<'py, PyArray1<f64>>;

fn bools<'a>(a: &'a PyReadonlyArray1<'_, bool>, name: &str) -> PyResult<&'a [bool]> {
    a.as_slice().map_err(|_| CoreError::InvalidInput(format!("`{name}` must be a contiguous bool array")).into())
}

/// Runs `f` into a new float64 array of length `n`, GIL released.
fn compute<F>(py: Python<'_>, n: usize, f: F) -> PyResult<Array<'_>>
where
    F: FnOnce(&mut [f64]) -> Result<(), CoreError> + Send,
{
    let out = PyArray1::zeros(py, n, false);
    {
        let mut w = out.try_readwrite()?;
        let s = w.as_slice_mut()?;
        py.detach(|| f(s))?;
    }
    Ok(out)
}

/// CVD after each trade: the running sum of `+qty` (taker buy) and `-qty`
/// (taker sell, `is_buyer_maker`).
#[pyfunction]
#[pyo3(name = "cvd")]
pub fn py_cvd<'py>(
    py: Python<'py>,
    qty: Array1<'py>,
    is_buyer_maker: PyReadonlyArray1<'py, bool>,
) -> PyResult<Array<'py>> {
    let (q, m) = (slice(&qty, "qty")?, bools(&is_buyer_maker, "is_buyer_maker")?);
    let n = same_len(&[("qty", q.len()), ("is_buyer_maker", m.len())])?;
    compute(py, n, |out| of::cvd_into(q, m, out))
}

/// Per-candle delta from klines: ``2 * taker_buy_volume - volume``.
#[pyfunction]
#[pyo3(name = "candle_delta")]
pub fn py_candle_delta<'py>(
    py: Python<'py>,
    volume: Array1<'py>,
    taker_buy_volume: Array1<'py>,
) -> PyResult<Array<'py>> {
    let (v, t) = (slice(&volume, "volume")?, slice(&taker_buy_volume, "taker_buy_volume")?);
    let n = same_len(&[("volume", v.len()), ("taker_buy_volume", t.len())])?;
    compute(py, n, |out| of::candle_delta_into(v, t, out))
}

/// The running sum of the kline deltas (NaN rows skipped).
#[pyfunction]
#[pyo3(name = "candle_cvd")]
pub fn py_candle_cvd<'py>(py: Python<'py>, volume: Array1<'py>, taker_buy_volume: Array1<'py>) -> PyResult<Array<'py>> {
    let (v, t) = (slice(&volume, "volume")?, slice(&taker_buy_volume, "taker_buy_volume")?);
    let n = same_len(&[("volume", v.len()), ("taker_buy_volume", t.len())])?;
    compute(py, n, |out| of::candle_cvd_into(v, t, out))
}

fn candle_dict<'py>(py: Python<'py>, c: &CandleFlow, interval_ms: i64) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("open_time", c.open_time)?;
    d.set_item("close_time", c.open_time + interval_ms - 1)?;
    d.set_item("buy_volume", c.buy_volume)?;
    d.set_item("sell_volume", c.sell_volume)?;
    d.set_item("volume", c.volume())?;
    d.set_item("delta", c.delta())?;
    d.set_item("cvd", c.cvd)?;
    d.set_item("imbalance", c.imbalance())?;
    d.set_item("buy_trades", c.buy_trades)?;
    d.set_item("sell_trades", c.sell_trades)?;
    d.set_item("large_buys", c.large_buys)?;
    d.set_item("large_sells", c.large_sells)?;
    d.set_item("vpin", c.vpin)?;
    Ok(d)
}

/// Per-candle order flow from the trade stream.
#[pyclass(module = "avd._core", name = "OrderFlow")]
pub struct PyOrderFlow(OrderFlow);

#[pymethods]
impl PyOrderFlow {
    #[new]
    #[pyo3(signature = (interval="1m", *, vpin_bucket_volume, vpin_window=50, large_trade_notional=100_000.0, history=1440))]
    fn py_new(
        interval: &str,
        vpin_bucket_volume: f64,
        vpin_window: i64,
        large_trade_notional: f64,
        history: i64,
    ) -> PyResult<Self> {
        let positive = |name: &str, v: i64| {
            usize::try_from(v)
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| CoreError::param(name, format!("must be >= 1, got {v}")))
        };
        let cfg = FlowConfig {
            interval_ms: parse_interval(interval)?.millis(),
            large_trade_notional,
            vpin_bucket_volume,
            vpin_window: positive("vpin_window", vpin_window)?,
            history: positive("history", history)?,
        };
        Ok(Self(OrderFlow::new(cfg)?))
    }

    /// Adds one trade; returns how many candles it closed.
    #[pyo3(name = "update")]
    fn py_update(&mut self, time_ms: i64, price: f64, qty: f64, is_buyer_maker: bool) -> PyResult<usize> {
        Ok(self.0.update(time_ms, price, qty, is_buyer_maker)?)
    }

    /// Closes every candle that ends at or before `time_ms`; returns how many.
    #[pyo3(name = "flush")]
    fn py_flush(&mut self, time_ms: i64) -> usize {
        self.0.flush(time_ms)
    }

    /// The candle in progress as a dict, or None before the first trade.
    #[pyo3(name = "current")]
    fn py_current<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let ms = self.0.config().interval_ms;
        self.0.current().map(|c| candle_dict(py, &c, ms)).transpose()
    }

    /// The last `n` closed candles (all with None) as dicts, oldest first.
    #[pyo3(name = "candles", signature = (n=None))]
    fn py_candles<'py>(&self, py: Python<'py>, n: Option<i64>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let closed = self.0.closed();
        let n = match n {
            None => closed.len(),
            Some(v) => usize::try_from(v).map_err(|_| CoreError::param("n", format!("must be >= 0, got {v}")))?,
        };
        let ms = self.0.config().interval_ms;
        closed.iter().skip(closed.len().saturating_sub(n)).map(|c| candle_dict(py, c, ms)).collect()
    }

    /// CVD since the start.
    #[getter(cvd)]
    fn py_cvd(&self) -> f64 {
        self.0.cvd()
    }

    /// VPIN now, or None until `vpin_window` buckets are complete.
    #[getter(vpin)]
    fn py_vpin(&self) -> Option<f64> {
        self.0.vpin()
    }

    /// Trades seen.
    #[getter(trades)]
    fn py_trades(&self) -> u64 {
        self.0.trades()
    }

    /// Trades counted in a later candle than their own (arrived late).
    #[getter(late_trades)]
    fn py_late_trades(&self) -> u64 {
        self.0.late_trades()
    }

    /// Candle length in ms.
    #[getter(interval_ms)]
    fn py_interval_ms(&self) -> i64 {
        self.0.config().interval_ms
    }

    /// Forgets every trade, keeping the parameters.
    #[pyo3(name = "reset")]
    fn py_reset(&mut self) {
        self.0.reset();
    }

    fn __repr__(&self) -> String {
        let c = self.0.config();
        format!(
            "OrderFlow(interval_ms={}, vpin_bucket_volume={}, vpin_window={}, trades={})",
            c.interval_ms,
            c.vpin_bucket_volume,
            c.vpin_window,
            self.0.trades()
        )
    }
}
