//! Bindings for the indicators: batch functions over float64 arrays (the GIL
//! is released while they run) and the streaming classes (per-bar calls keep
//! the GIL: they are O(1)).
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PySlice;

use crate::error::CoreError;
use crate::indicators::{
    self as ind, AdxOutput, BBandsOutput, CloseVolume, DonchianOutput, HighLow, Hlc, HlcVolume, Indicator, MacdOutput,
    StochOutput,
};
use crate::python::util::{empty, same_len, slice, to_numpy};

type Array = Py<PyArray1<f64>>;
type Array1<'py> = PyReadonlyArray1<'py, f64>;

/// A window length from Python: a negative value is out of range, like 0.
fn window(name: &str, value: i64, min: usize) -> Result<usize, CoreError> {
    usize::try_from(value).map_err(|_| CoreError::param(name, format!("must be >= {min}, got {value}")))
}

// ---------------------------------------------------------------- batch --

/// Runs `f` on one new output column with the GIL released; `f` writes
/// every slot.
fn compute1<F>(py: Python<'_>, n: usize, f: F) -> PyResult<Array>
where
    F: FnOnce(&mut [f64]) -> Result<(), CoreError> + Send,
{
    let a = empty(py, n)?;
    {
        let mut wa = a.try_readwrite()?;
        let col = wa.as_slice_mut()?;
        py.detach(|| f(col))?;
    }
    Ok(a.unbind())
}

/// Runs `f` on `K` new output columns with the GIL released; `f` writes
/// every slot. The columns are views of one `numpy.empty` array of `K n`:
/// `K` fresh multi-megabyte arrays per call cost the kernel's page faults
/// (glibc hands such blocks back to the system when they are freed, about
/// 1.5 ms a call for each 8 MB column here), one block of `K` times the
/// size is reused from call to call (glibc's mmap threshold follows the
/// largest block freed).
fn compute_many<const K: usize, F>(py: Python<'_>, n: usize, f: F) -> PyResult<[Array; K]>
where
    F: FnOnce([&mut [f64]; K]) -> Result<(), CoreError> + Send,
{
    let block = empty::<f64>(py, K * n)?;
    {
        let mut w = block.try_readwrite()?;
        let mut rest = w.as_slice_mut()?;
        let cols: [&mut [f64]; K] = std::array::from_fn(|_| {
            let (col, tail) = std::mem::take(&mut rest).split_at_mut(n);
            rest = tail;
            col
        });
        py.detach(|| f(cols))?;
    }
    let view = |k: usize| -> PyResult<Array> {
        let slice = PySlice::new(py, isize::try_from(k * n)?, isize::try_from((k + 1) * n)?, 1);
        Ok(block.get_item(slice)?.cast_into::<PyArray1<f64>>()?.unbind())
    };
    let mut views = Vec::with_capacity(K);
    for k in 0..K {
        views.push(view(k)?);
    }
    Ok(views.try_into().unwrap_or_else(|_| unreachable!("K views were made")))
}

/// [`compute_many`] with two columns, as a pair.
fn compute2<F>(py: Python<'_>, n: usize, f: F) -> PyResult<(Array, Array)>
where
    F: FnOnce([&mut [f64]; 2]) -> Result<(), CoreError> + Send,
{
    let [a, b] = compute_many(py, n, f)?;
    Ok((a, b))
}

/// [`compute_many`] with three columns, as a triple.
fn compute3<F>(py: Python<'_>, n: usize, f: F) -> PyResult<(Array, Array, Array)>
where
    F: FnOnce([&mut [f64]; 3]) -> Result<(), CoreError> + Send,
{
    let [a, b, c] = compute_many(py, n, f)?;
    Ok((a, b, c))
}

/// Simple moving average (TA-Lib ``SMA``).
#[pyfunction]
#[pyo3(name = "sma")]
pub fn py_sma(py: Python<'_>, x: Array1<'_>, period: i64) -> PyResult<Array> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 1)?;
    compute1(py, xs.len(), |out| ind::sma_into(xs, period, out))
}

/// Exponential moving average (TA-Lib ``EMA``).
#[pyfunction]
#[pyo3(name = "ema")]
pub fn py_ema(py: Python<'_>, x: Array1<'_>, period: i64) -> PyResult<Array> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 1)?;
    compute1(py, xs.len(), |out| ind::ema_into(xs, period, out))
}

/// Weighted moving average (TA-Lib ``WMA``).
#[pyfunction]
#[pyo3(name = "wma")]
pub fn py_wma(py: Python<'_>, x: Array1<'_>, period: i64) -> PyResult<Array> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 1)?;
    compute1(py, xs.len(), |out| ind::wma_into(xs, period, out))
}

/// Relative strength index (TA-Lib ``RSI``).
#[pyfunction]
#[pyo3(name = "rsi")]
pub fn py_rsi(py: Python<'_>, x: Array1<'_>, period: i64) -> PyResult<Array> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 2)?;
    compute1(py, xs.len(), |out| ind::rsi_into(xs, period, out))
}

/// MACD line, signal and histogram (TA-Lib ``MACD``).
#[pyfunction]
#[pyo3(name = "macd")]
pub fn py_macd(py: Python<'_>, x: Array1<'_>, fast: i64, slow: i64, signal: i64) -> PyResult<(Array, Array, Array)> {
    let xs = slice(&x, "x")?;
    let (fast, slow, signal) = (window("fast", fast, 2)?, window("slow", slow, 2)?, window("signal", signal, 2)?);
    compute3(py, xs.len(), |out| ind::macd_into(xs, fast, slow, signal, out))
}

/// Average true range (TA-Lib ``ATR``).
#[pyfunction]
#[pyo3(name = "atr")]
pub fn py_atr(py: Python<'_>, high: Array1<'_>, low: Array1<'_>, close: Array1<'_>, period: i64) -> PyResult<Array> {
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    same_len(&[("high", h.len()), ("low", l.len()), ("close", c.len())])?;
    let period = window("period", period, 1)?;
    compute1(py, h.len(), |out| ind::atr_into(h, l, c, period, out))
}

/// Bollinger Bands with an SMA middle band (TA-Lib ``BBANDS``).
#[pyfunction]
#[pyo3(name = "bbands")]
pub fn py_bbands(
    py: Python<'_>,
    x: Array1<'_>,
    period: i64,
    nbdev_up: f64,
    nbdev_dn: f64,
) -> PyResult<(Array, Array, Array)> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 2)?;
    compute3(py, xs.len(), |out| ind::bbands_into(xs, period, nbdev_up, nbdev_dn, out))
}

/// Rolling standard deviation times ``nbdev`` (TA-Lib ``STDDEV``).
#[pyfunction]
#[pyo3(name = "stddev")]
pub fn py_stddev(py: Python<'_>, x: Array1<'_>, period: i64, nbdev: f64) -> PyResult<Array> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 2)?;
    compute1(py, xs.len(), |out| ind::stddev_into(xs, period, nbdev, out))
}

/// On-balance volume (TA-Lib ``OBV``).
#[pyfunction]
#[pyo3(name = "obv")]
pub fn py_obv(py: Python<'_>, close: Array1<'_>, volume: Array1<'_>) -> PyResult<Array> {
    let (c, v) = (slice(&close, "close")?, slice(&volume, "volume")?);
    same_len(&[("close", c.len()), ("volume", v.len())])?;
    Ok(to_numpy(py, py.detach(|| ind::obv(c, v))?))
}

/// Average directional index (TA-Lib ``ADX``).
#[pyfunction]
#[pyo3(name = "adx")]
pub fn py_adx(py: Python<'_>, high: Array1<'_>, low: Array1<'_>, close: Array1<'_>, period: i64) -> PyResult<Array> {
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    same_len(&[("high", h.len()), ("low", l.len()), ("close", c.len())])?;
    let period = window("period", period, 2)?;
    Ok(to_numpy(py, py.detach(|| ind::adx(h, l, c, period))?))
}

/// Plus directional indicator (TA-Lib ``PLUS_DI``).
#[pyfunction]
#[pyo3(name = "plus_di")]
pub fn py_plus_di(
    py: Python<'_>,
    high: Array1<'_>,
    low: Array1<'_>,
    close: Array1<'_>,
    period: i64,
) -> PyResult<Array> {
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    same_len(&[("high", h.len()), ("low", l.len()), ("close", c.len())])?;
    let period = window("period", period, 1)?;
    Ok(to_numpy(py, py.detach(|| ind::plus_di(h, l, c, period))?))
}

/// Minus directional indicator (TA-Lib ``MINUS_DI``).
#[pyfunction]
#[pyo3(name = "minus_di")]
pub fn py_minus_di(
    py: Python<'_>,
    high: Array1<'_>,
    low: Array1<'_>,
    close: Array1<'_>,
    period: i64,
) -> PyResult<Array> {
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    same_len(&[("high", h.len()), ("low", l.len()), ("close", c.len())])?;
    let period = window("period", period, 1)?;
    Ok(to_numpy(py, py.detach(|| ind::minus_di(h, l, c, period))?))
}

/// Slow stochastic %K and %D (TA-Lib ``STOCH`` with SMA smoothing).
#[pyfunction]
#[pyo3(name = "stoch")]
#[allow(clippy::too_many_arguments)]
pub fn py_stoch(
    py: Python<'_>,
    high: Array1<'_>,
    low: Array1<'_>,
    close: Array1<'_>,
    fastk: i64,
    slowk: i64,
    slowd: i64,
) -> PyResult<(Array, Array)> {
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    let n = same_len(&[("high", h.len()), ("low", l.len()), ("close", c.len())])?;
    let (fk, sk, sd) = (window("fastk", fastk, 1)?, window("slowk", slowk, 1)?, window("slowd", slowd, 1)?);
    compute2(py, n, |out| ind::stoch_into(h, l, c, fk, sk, sd, out))
}

/// Rate of change in percent (TA-Lib ``ROC``).
#[pyfunction]
#[pyo3(name = "roc")]
pub fn py_roc(py: Python<'_>, x: Array1<'_>, period: i64) -> PyResult<Array> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 1)?;
    Ok(to_numpy(py, py.detach(|| ind::roc(xs, period))?))
}

/// Donchian channel: rolling max of high and min of low (TA-Lib ``MAX``/``MIN``).
#[pyfunction]
#[pyo3(name = "donchian")]
pub fn py_donchian(py: Python<'_>, high: Array1<'_>, low: Array1<'_>, period: i64) -> PyResult<(Array, Array)> {
    let (h, l) = (slice(&high, "high")?, slice(&low, "low")?);
    let n = same_len(&[("high", h.len()), ("low", l.len())])?;
    let period = window("period", period, 1)?;
    compute2(py, n, |out| ind::donchian_into(h, l, period, out))
}

/// Rolling volume-weighted average price.
#[pyfunction]
#[pyo3(name = "vwap")]
pub fn py_vwap(
    py: Python<'_>,
    high: Array1<'_>,
    low: Array1<'_>,
    close: Array1<'_>,
    volume: Array1<'_>,
    period: i64,
) -> PyResult<Array> {
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    let v = slice(&volume, "volume")?;
    same_len(&[("high", h.len()), ("low", l.len()), ("close", c.len()), ("volume", v.len())])?;
    let period = window("period", period, 1)?;
    Ok(to_numpy(py, py.detach(|| ind::vwap(h, l, c, v, period))?))
}

/// Rolling z-score against the window's mean and population std.
#[pyfunction]
#[pyo3(name = "zscore")]
pub fn py_zscore(py: Python<'_>, x: Array1<'_>, period: i64) -> PyResult<Array> {
    let xs = slice(&x, "x")?;
    let period = window("period", period, 2)?;
    Ok(to_numpy(py, py.detach(|| ind::zscore(xs, period))?))
}

// ------------------------------------------------------------ streaming --

/// How a streaming output crosses into Python: a float or a tuple of floats.
trait ToPython {
    type Out;
    fn to_python(self) -> Self::Out;
}

impl ToPython for f64 {
    type Out = f64;
    fn to_python(self) -> f64 {
        self
    }
}

impl ToPython for MacdOutput {
    type Out = (f64, f64, f64);
    fn to_python(self) -> Self::Out {
        (self.macd, self.signal, self.hist)
    }
}

impl ToPython for BBandsOutput {
    type Out = (f64, f64, f64);
    fn to_python(self) -> Self::Out {
        (self.upper, self.middle, self.lower)
    }
}

impl ToPython for StochOutput {
    type Out = (f64, f64);
    fn to_python(self) -> Self::Out {
        (self.slowk, self.slowd)
    }
}

impl ToPython for DonchianOutput {
    type Out = (f64, f64);
    fn to_python(self) -> Self::Out {
        (self.upper, self.lower)
    }
}

impl ToPython for AdxOutput {
    type Out = (f64, f64, f64);
    fn to_python(self) -> Self::Out {
        (self.adx, self.plus_di, self.minus_di)
    }
}

/// A float as Python's `repr` writes it (`nan`, `inf`, `1.5`).
fn py_float(v: f64) -> String {
    if v.is_nan() {
        "nan".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        }
    } else {
        format!("{v:?}")
    }
}

/// Defines a streaming class: `__new__`, `update`, `value`, `is_ready`,
/// `lookback`, `reset` and `__repr__`, delegating to the Rust indicator.
macro_rules! streaming_class {
    (
        $(#[$doc:meta])*
        $class:ident = $pyname:literal wraps $core:ty;
        new($($arg:ident: $ty:ty $(= $default:expr)?),*) => $ctor:expr;
        update($($input:ident),*) => $bar:expr;
        repr($this:ident) => $repr:expr;
    ) => {
        $(#[$doc])*
        #[pyclass(module = "avd._core", name = $pyname)]
        pub struct $class($core);

        #[pymethods]
        impl $class {
            #[new]
            #[pyo3(signature = ($($arg $(= $default)?),*))]
            fn py_new($($arg: $ty),*) -> PyResult<Self> {
                Ok(Self($ctor))
            }

            /// Feeds one bar and returns the output after it (NaN during warm-up).
            #[pyo3(name = "update")]
            fn py_update(&mut self, $($input: f64),*) -> <<$core as Indicator>::Output as ToPython>::Out {
                self.0.update($bar).to_python()
            }

            /// The output after the last update (NaN during warm-up).
            #[getter(value)]
            fn py_value(&self) -> <<$core as Indicator>::Output as ToPython>::Out {
                self.0.value().to_python()
            }

            /// Whether the output is past its warm-up.
            #[getter(is_ready)]
            fn py_is_ready(&self) -> bool {
                self.0.is_ready()
            }

            /// Bars consumed before the first output (TA-Lib's lookback).
            #[getter(lookback)]
            fn py_lookback(&self) -> usize {
                self.0.lookback()
            }

            /// Forgets every bar seen, keeping the parameters.
            #[pyo3(name = "reset")]
            fn py_reset(&mut self) {
                self.0.reset();
            }

            fn __repr__(&self) -> String {
                let $this = &self.0;
                $repr
            }
        }
    };
}

streaming_class! {
    /// Streaming simple moving average (TA-Lib ``SMA``).
    PySma = "Sma" wraps ind::Sma;
    new(period: i64) => ind::Sma::new(window("period", period, 1)?)?;
    update(x) => x;
    repr(s) => format!("Sma(period={}, value={})", s.period(), py_float(s.value()));
}

streaming_class! {
    /// Streaming exponential moving average (TA-Lib ``EMA``).
    PyEma = "Ema" wraps ind::Ema;
    new(period: i64) => ind::Ema::new(window("period", period, 1)?)?;
    update(x) => x;
    repr(s) => format!("Ema(period={}, value={})", s.period(), py_float(s.value()));
}

streaming_class! {
    /// Streaming weighted moving average (TA-Lib ``WMA``).
    PyWma = "Wma" wraps ind::Wma;
    new(period: i64) => ind::Wma::new(window("period", period, 1)?)?;
    update(x) => x;
    repr(s) => format!("Wma(period={}, value={})", s.period(), py_float(s.value()));
}

streaming_class! {
    /// Streaming relative strength index (TA-Lib ``RSI``).
    PyRsi = "Rsi" wraps ind::Rsi;
    new(period: i64 = 14) => ind::Rsi::new(window("period", period, 2)?)?;
    update(x) => x;
    repr(s) => format!("Rsi(period={}, value={})", s.period(), py_float(s.value()));
}

streaming_class! {
    /// Streaming MACD; ``update`` returns ``(macd, signal, hist)`` (TA-Lib ``MACD``).
    PyMacd = "Macd" wraps ind::Macd;
    new(fast: i64 = 12, slow: i64 = 26, signal: i64 = 9) => ind::Macd::new(
        window("fast", fast, 2)?,
        window("slow", slow, 2)?,
        window("signal", signal, 2)?,
    )?;
    update(x) => x;
    repr(s) => {
        let (fast, slow, signal) = s.periods();
        let v = s.value();
        format!(
            "Macd(fast={fast}, slow={slow}, signal={signal}, macd={}, signal_line={}, hist={})",
            py_float(v.macd), py_float(v.signal), py_float(v.hist)
        )
    };
}

streaming_class! {
    /// Streaming average true range; ``update(high, low, close)`` (TA-Lib ``ATR``).
    PyAtr = "Atr" wraps ind::Atr;
    new(period: i64 = 14) => ind::Atr::new(window("period", period, 1)?)?;
    update(high, low, close) => Hlc { high, low, close };
    repr(s) => format!("Atr(period={}, value={})", s.period(), py_float(s.value()));
}

streaming_class! {
    /// Streaming Bollinger Bands; ``update`` returns ``(upper, middle, lower)`` (TA-Lib ``BBANDS``).
    PyBBands = "BBands" wraps ind::BBands;
    new(period: i64 = 20, nbdev_up: f64 = 2.0, nbdev_dn: f64 = 2.0) =>
        ind::BBands::new(window("period", period, 2)?, nbdev_up, nbdev_dn)?;
    update(x) => x;
    repr(s) => {
        let (up, dn) = s.nbdev();
        let v = s.value();
        format!(
            "BBands(period={}, nbdev_up={}, nbdev_dn={}, upper={}, middle={}, lower={})",
            s.period(), py_float(up), py_float(dn), py_float(v.upper), py_float(v.middle), py_float(v.lower)
        )
    };
}

streaming_class! {
    /// Streaming standard deviation times ``nbdev`` (TA-Lib ``STDDEV``).
    PyStdDev = "StdDev" wraps ind::StdDev;
    new(period: i64, nbdev: f64 = 1.0) => ind::StdDev::new(window("period", period, 2)?, nbdev)?;
    update(x) => x;
    repr(s) => format!(
        "StdDev(period={}, nbdev={}, value={})", s.period(), py_float(s.nbdev()), py_float(s.value())
    );
}

streaming_class! {
    /// Streaming Donchian channel; ``update(high, low)`` returns ``(upper, lower)``.
    PyDonchian = "Donchian" wraps ind::Donchian;
    new(period: i64) => ind::Donchian::new(window("period", period, 1)?)?;
    update(high, low) => HighLow { high, low };
    repr(s) => {
        let v = s.value();
        format!("Donchian(period={}, upper={}, lower={})", s.period(), py_float(v.upper), py_float(v.lower))
    };
}

streaming_class! {
    /// Streaming on-balance volume; ``update(close, volume)`` (TA-Lib ``OBV``).
    PyObv = "Obv" wraps ind::Obv;
    new() => ind::Obv::new();
    update(close, volume) => CloseVolume { close, volume };
    repr(s) => format!("Obv(value={})", py_float(s.value()));
}

streaming_class! {
    /// Streaming rolling VWAP; ``update(high, low, close, volume)``.
    PyVwap = "Vwap" wraps ind::Vwap;
    new(period: i64) => ind::Vwap::new(window("period", period, 1)?)?;
    update(high, low, close, volume) => HlcVolume { high, low, close, volume };
    repr(s) => format!("Vwap(period={}, value={})", s.period(), py_float(s.value()));
}

streaming_class! {
    /// Streaming rate of change in percent (TA-Lib ``ROC``).
    PyRoc = "Roc" wraps ind::Roc;
    new(period: i64 = 10) => ind::Roc::new(window("period", period, 1)?)?;
    update(x) => x;
    repr(s) => format!("Roc(period={}, value={})", s.period(), py_float(s.value()));
}

streaming_class! {
    /// Streaming slow stochastic; ``update(high, low, close)`` returns ``(slowk, slowd)`` (TA-Lib ``STOCH``).
    PyStoch = "Stoch" wraps ind::Stoch;
    new(fastk: i64 = 5, slowk: i64 = 3, slowd: i64 = 3) => ind::Stoch::new(
        window("fastk", fastk, 1)?,
        window("slowk", slowk, 1)?,
        window("slowd", slowd, 1)?,
    )?;
    update(high, low, close) => Hlc { high, low, close };
    repr(s) => {
        let (fastk, slowk, slowd) = s.periods();
        let v = s.value();
        format!(
            "Stoch(fastk={fastk}, slowk={slowk}, slowd={slowd}, k={}, d={})",
            py_float(v.slowk), py_float(v.slowd)
        )
    };
}

streaming_class! {
    /// Streaming ADX; ``update(high, low, close)`` returns ``(adx, plus_di, minus_di)``
    /// (TA-Lib ``ADX``, ``PLUS_DI``, ``MINUS_DI``; the DIs are ready first).
    PyAdx = "Adx" wraps ind::Adx;
    new(period: i64 = 14) => ind::Adx::new(window("period", period, 2)?)?;
    update(high, low, close) => Hlc { high, low, close };
    repr(s) => {
        let v = s.value();
        format!(
            "Adx(period={}, adx={}, plus_di={}, minus_di={})",
            s.period(), py_float(v.adx), py_float(v.plus_di), py_float(v.minus_di)
        )
    };
}

streaming_class! {
    /// Streaming rolling z-score (population std).
    PyZScore = "ZScore" wraps ind::ZScore;
    new(period: i64) => ind::ZScore::new(window("period", period, 2)?)?;
    update(x) => x;
    repr(s) => format!("ZScore(period={}, value={})", s.period(), py_float(s.value()));
}
