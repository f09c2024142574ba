//! Bindings for the entry levels: batch functions over float64 arrays (the
//! GIL is released while they run) and the streaming `LevelTracker`.
use numpy::{AllowTypeChange, PyArray1, PyArrayLike1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::error::CoreError;
use crate::levels::{
    self as lv, ConfluenceZone, Level, LevelTracker, PivotMethod, PriceTolerance, SwingPoint, Trend, Zone, ZoneConfig,
    ZoneTolerance,
};
use crate::python::util::{slice, to_numpy};

type Array1<'py> = PyReadonlyArray1<'py, f64>;
/// Any float sequence (lists too), converted by numpy.
type ArrayLike<'py> = PyArrayLike1<'py, f64, AllowTypeChange>;
type Indexes<'py> = Bound<'py, PyArray1<i64>>;

/// A count from Python: a negative value is out of range, like 0.
fn count(name: &str, value: i64) -> Result<usize, CoreError> {
    usize::try_from(value).map_err(|_| CoreError::param(name, format!("must be >= 1, got {value}")))
}

#[allow(clippy::too_many_arguments)]
fn zone_config(
    left: i64,
    right: i64,
    tolerance: f64,
    mode: &str,
    atr_period: i64,
    max_zones: i64,
    min_touches: i64,
) -> Result<ZoneConfig, CoreError> {
    let cfg = ZoneConfig {
        left: count("left", left)?,
        right: count("right", right)?,
        tolerance: ZoneTolerance::parse(mode, tolerance)?,
        atr_period: count("atr_period", atr_period)?,
        max_zones: count("max_zones", max_zones)?,
        min_touches: u32::try_from(min_touches)
            .map_err(|_| CoreError::param("min_touches", format!("must be >= 1, got {min_touches}")))?,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Zones as columns: ``center``, ``low``, ``high`` (float64), ``touches``,
/// ``high_touches``, ``low_touches``, ``first_index``, ``last_index``
/// (int64) and ``support`` (bool, center below `last_close`).
fn zones_dict<'py>(py: Python<'py>, zones: &[Zone], last_close: f64) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let f = |g: fn(&Zone) -> f64| to_numpy(py, zones.iter().map(g).collect());
    let i = |g: fn(&Zone) -> i64| PyArray1::from_vec(py, zones.iter().map(g).collect());
    d.set_item("center", f(|z| z.center))?;
    d.set_item("low", f(|z| z.low))?;
    d.set_item("high", f(|z| z.high))?;
    d.set_item("touches", i(|z| i64::from(z.touches)))?;
    d.set_item("high_touches", i(|z| i64::from(z.high_touches)))?;
    d.set_item("low_touches", i(|z| i64::from(z.low_touches)))?;
    d.set_item("first_index", i(|z| z.first_index as i64))?;
    d.set_item("last_index", i(|z| z.last_index as i64))?;
    d.set_item("support", PyArray1::from_vec(py, zones.iter().map(|z| z.is_support(last_close)).collect()))?;
    Ok(d)
}

fn fib_dict<'py>(py: Python<'py>, grid: &[lv::FibLevel]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for l in grid {
        d.set_item(l.ratio, l.price)?;
    }
    Ok(d)
}

fn swing_tuple(p: SwingPoint) -> (&'static str, usize, f64) {
    let kind = match p.kind {
        lv::SwingKind::High => "high",
        lv::SwingKind::Low => "low",
    };
    (kind, p.index, p.price)
}

/// Pivot points, one row per candle: ``{"P": ..., "R1": ..., ...}``.
#[pyfunction]
#[pyo3(name = "pivots")]
pub fn py_pivots<'py>(
    py: Python<'py>,
    high: Array1<'py>,
    low: Array1<'py>,
    close: Array1<'py>,
    method: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let method: PivotMethod = method.parse()?;
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    // numpy's allocator (huge pages on large arrays), written in place
    let arrays: Vec<Bound<'py, PyArray1<f64>>> =
        method.level_names().iter().map(|_| PyArray1::zeros(py, h.len(), false)).collect();
    {
        let mut rw = arrays.iter().map(PyArrayMethods::try_readwrite).collect::<Result<Vec<_>, _>>()?;
        let mut cols = rw.iter_mut().map(|w| w.as_slice_mut()).collect::<Result<Vec<_>, _>>()?;
        py.detach(|| lv::pivots_into(method, h, l, c, &mut cols))?;
    }
    let d = PyDict::new(py);
    for (name, a) in method.level_names().iter().zip(arrays) {
        d.set_item(*name, a)?;
    }
    Ok(d)
}

/// Fractal swing highs and lows: two int64 index arrays.
#[pyfunction]
#[pyo3(name = "swings")]
pub fn py_swings<'py>(
    py: Python<'py>,
    high: Array1<'py>,
    low: Array1<'py>,
    left: i64,
    right: i64,
) -> PyResult<(Indexes<'py>, Indexes<'py>)> {
    let (h, l) = (slice(&high, "high")?, slice(&low, "low")?);
    let (left, right) = (count("left", left)?, count("right", right)?);
    let s = py.detach(|| lv::swings(h, l, left, right))?;
    let idx = |v: Vec<usize>| PyArray1::from_vec(py, v.into_iter().map(|i| i as i64).collect());
    Ok((idx(s.highs), idx(s.lows)))
}

/// The Fibonacci grid of one swing: ``{ratio: price}``.
#[pyfunction]
#[pyo3(name = "fibonacci")]
pub fn py_fibonacci<'py>(
    py: Python<'py>,
    high_price: f64,
    low_price: f64,
    trend: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let trend: Trend = trend.parse()?;
    fib_dict(py, &lv::fibonacci(high_price, low_price, trend)?)
}

/// Support/resistance zones clustered from swings, as columns.
#[pyfunction]
#[pyo3(name = "support_resistance")]
#[allow(clippy::too_many_arguments)]
pub fn py_support_resistance<'py>(
    py: Python<'py>,
    high: Array1<'py>,
    low: Array1<'py>,
    close: Array1<'py>,
    left: i64,
    right: i64,
    tolerance: f64,
    mode: &str,
    atr_period: i64,
    max_zones: i64,
    min_touches: i64,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = zone_config(left, right, tolerance, mode, atr_period, max_zones, min_touches)?;
    let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
    let zones = py.detach(|| lv::support_resistance(h, l, c, &cfg))?;
    zones_dict(py, &zones, c.last().copied().unwrap_or(f64::NAN))
}

fn confluence_dict<'py>(py: Python<'py>, z: &ConfluenceZone) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("price", z.price)?;
    d.set_item("low", z.low)?;
    d.set_item("high", z.high)?;
    d.set_item("score", z.score)?;
    d.set_item("kinds", z.kinds.iter().map(|k| k.name()).collect::<Vec<_>>())?;
    let members = PyList::empty(py);
    for m in &z.members {
        let md = PyDict::new(py);
        md.set_item("kind", m.kind.name())?;
        md.set_item("label", &m.label)?;
        md.set_item("price", m.price)?;
        md.set_item("strength", m.strength)?;
        members.append(md)?;
    }
    d.set_item("levels", members)?;
    Ok(d)
}

/// Confluence zones of ``(kind, label, price, strength)`` levels, best first.
#[pyfunction]
#[pyo3(name = "confluence")]
pub fn py_confluence<'py>(
    py: Python<'py>,
    levels: Vec<(String, String, f64, f64)>,
    tolerance: f64,
    mode: &str,
    min_kinds: i64,
) -> PyResult<Bound<'py, PyList>> {
    let tol = PriceTolerance::parse(mode, tolerance)?;
    let min_kinds = count("min_kinds", min_kinds)?;
    let levels = levels
        .into_iter()
        .map(|(kind, label, price, strength)| Ok(Level { kind: kind.parse()?, label, price, strength }))
        .collect::<Result<Vec<_>, CoreError>>()?;
    let zones = lv::confluence(&levels, tol, min_kinds)?;
    let out = PyList::empty(py);
    for z in &zones {
        out.append(confluence_dict(py, z)?)?;
    }
    Ok(out)
}

/// Support/resistance levels kept up to date one closed candle at a time.
#[pyclass(module = "avd._core", name = "LevelTracker")]
pub struct PyLevelTracker(LevelTracker);

#[pymethods]
impl PyLevelTracker {
    #[new]
    #[pyo3(signature = (left=2, right=2, tolerance=0.5, mode="atr", atr_period=14, max_zones=50, min_touches=1))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        left: i64,
        right: i64,
        tolerance: f64,
        mode: &str,
        atr_period: i64,
        max_zones: i64,
        min_touches: i64,
    ) -> PyResult<Self> {
        let cfg = zone_config(left, right, tolerance, mode, atr_period, max_zones, min_touches)?;
        Ok(Self(LevelTracker::new(cfg)?))
    }

    /// Feeds one closed candle; returns the swings it confirmed as
    /// ``(kind, index, price)`` tuples.
    #[pyo3(name = "update")]
    fn py_update(&mut self, high: f64, low: f64, close: f64) -> PyResult<Vec<(&'static str, usize, f64)>> {
        let u = self.0.update(high, low, close)?;
        Ok(u.swing_high.into_iter().chain(u.swing_low).map(swing_tuple).collect())
    }

    /// Feeds many closed candles (GIL released); returns how many swings
    /// they confirmed. The whole batch is checked first: a bad candle
    /// changes nothing.
    #[pyo3(name = "update_many")]
    fn py_update_many(
        &mut self,
        py: Python<'_>,
        high: ArrayLike<'_>,
        low: ArrayLike<'_>,
        close: ArrayLike<'_>,
    ) -> PyResult<usize> {
        let (h, l, c) = (slice(&high, "high")?, slice(&low, "low")?, slice(&close, "close")?);
        let tracker = &mut self.0;
        let n = py.detach(|| tracker.update_many(h, l, c))?;
        Ok(n)
    }

    /// The zones, as :func:`avd.levels.support_resistance` returns them.
    #[pyo3(name = "zones")]
    fn py_zones<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        zones_dict(py, &self.0.zones(), self.0.last_close())
    }

    /// The last swing's Fibonacci grid as ``(trend, {ratio: price})``, or None.
    #[pyo3(name = "fibonacci")]
    fn py_fibonacci<'py>(&self, py: Python<'py>) -> PyResult<Option<(&'static str, Bound<'py, PyDict>)>> {
        let Some((trend, grid)) = self.0.fibonacci() else { return Ok(None) };
        let name = if trend == Trend::Up { "up" } else { "down" };
        Ok(Some((name, fib_dict(py, &grid)?)))
    }

    /// The last confirmed swing high as ``(index, price)``, or None.
    #[getter(last_swing_high)]
    fn py_last_swing_high(&self) -> Option<(usize, f64)> {
        self.0.last_swing_high().map(|p| (p.index, p.price))
    }

    /// The last confirmed swing low as ``(index, price)``, or None.
    #[getter(last_swing_low)]
    fn py_last_swing_low(&self) -> Option<(usize, f64)> {
        self.0.last_swing_low().map(|p| (p.index, p.price))
    }

    /// Candles seen.
    #[getter(bars)]
    fn py_bars(&self) -> usize {
        self.0.bars()
    }

    /// Forgets every candle, keeping the parameters.
    #[pyo3(name = "reset")]
    fn py_reset(&mut self) {
        self.0.reset();
    }

    fn __repr__(&self) -> String {
        let c = self.0.config();
        format!(
            "LevelTracker(left={}, right={}, bars={}, zones={})",
            c.left,
            c.right,
            self.0.bars(),
            self.0.zones().len()
        )
    }
}
