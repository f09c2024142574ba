//! Bindings for the stop tracker: `StopPlan`, `StopTracker`, its events
//! (`StopMoved`, `PositionReduced`, `PositionClosed`) and `PositionState`.
//! Prices and quantities cross as `decimal.Decimal`, converted with the
//! symbol's `SymbolFilters`.
use std::collections::HashMap;

use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::fills::PySymbolFilters;
use super::money::{in_units, ratio, to_py};
use super::util::same_len;
use crate::error::CoreError;
use crate::fills::{Bar, Dec, IntrabarPath, Rounding, SymbolFilters};
use crate::stops::{NewPosition, PositionSide, PositionView, StopEvent, StopPlan, StopTracker, TakeProfit};

fn opt_units(obj: Option<&Bound<'_, PyAny>>, decimals: u32, name: &str) -> PyResult<u32> {
    match obj.filter(|o| !o.is_none()) {
        Some(o) => in_units(ratio(o, name)?, decimals, name),
        None => Ok(0),
    }
}

fn units_dec(v: u32, decimals: u32) -> Dec {
    Dec::new(i128::from(v), decimals).normalized()
}

/// How a position's stop is managed. Every rule is off unless given.
/// Ratios take Decimal, str, int or float: percents to 4 decimals, R
/// multiples and ATR multipliers to 3, fractions to 6.
#[pyclass(name = "StopPlan", module = "avd._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyStopPlan {
    inner: StopPlan,
}

#[pymethods]
impl PyStopPlan {
    #[new]
    #[pyo3(signature = (*, trail_pct = None, trail_after_r = None, chandelier_k = None, breakeven_after_r = None,
                        breakeven_offset_ticks = 0, take_profits = None, time_stop_ms = None, time_stop_bars = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        trail_pct: Option<&Bound<'_, PyAny>>,
        trail_after_r: Option<&Bound<'_, PyAny>>,
        chandelier_k: Option<&Bound<'_, PyAny>>,
        breakeven_after_r: Option<&Bound<'_, PyAny>>,
        breakeven_offset_ticks: i64,
        take_profits: Option<Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)>>,
        time_stop_ms: Option<i64>,
        time_stop_bars: Option<u32>,
    ) -> PyResult<Self> {
        let mut tps = Vec::new();
        for (r, fraction) in take_profits.unwrap_or_default() {
            tps.push(TakeProfit {
                r_milli: in_units(ratio(&r, "take_profits R")?, 3, "take_profits R")?,
                fraction_ppm: in_units(ratio(&fraction, "take_profits fraction")?, 6, "take_profits fraction")?,
            });
        }
        let inner = StopPlan {
            // percent → ppm: 1% = 10_000 ppm, i.e. 4 decimals of a percent.
            trail_ppm: opt_units(trail_pct, 4, "trail_pct")?,
            trail_after_r_milli: opt_units(trail_after_r, 3, "trail_after_r")?,
            chandelier_k_milli: opt_units(chandelier_k, 3, "chandelier_k")?,
            breakeven_after_r_milli: opt_units(breakeven_after_r, 3, "breakeven_after_r")?,
            breakeven_offset_ticks,
            take_profits: tps,
            time_stop_ms: time_stop_ms.unwrap_or(0),
            time_stop_bars: time_stop_bars.unwrap_or(0),
        };
        inner.validate()?;
        Ok(Self { inner })
    }

    #[getter]
    fn trail_pct<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let v = self.inner.trail_ppm;
        (v > 0).then(|| to_py(py, units_dec(v, 4))).transpose()
    }
    #[getter]
    fn trail_after_r<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, units_dec(self.inner.trail_after_r_milli, 3))
    }
    #[getter]
    fn chandelier_k<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let v = self.inner.chandelier_k_milli;
        (v > 0).then(|| to_py(py, units_dec(v, 3))).transpose()
    }
    #[getter]
    fn breakeven_after_r<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let v = self.inner.breakeven_after_r_milli;
        (v > 0).then(|| to_py(py, units_dec(v, 3))).transpose()
    }
    #[getter]
    fn breakeven_offset_ticks(&self) -> i64 {
        self.inner.breakeven_offset_ticks
    }
    /// `(R multiple, fraction of the initial quantity)` per level.
    #[getter]
    fn take_profits<'py>(&self, py: Python<'py>) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        self.inner
            .take_profits
            .iter()
            .map(|t| Ok((to_py(py, units_dec(t.r_milli, 3))?, to_py(py, units_dec(t.fraction_ppm, 6))?)))
            .collect()
    }
    #[getter]
    fn time_stop_ms(&self) -> Option<i64> {
        (self.inner.time_stop_ms > 0).then_some(self.inner.time_stop_ms)
    }
    #[getter]
    fn time_stop_bars(&self) -> Option<u32> {
        (self.inner.time_stop_bars > 0).then_some(self.inner.time_stop_bars)
    }
    fn __repr__(&self) -> String {
        format!("StopPlan({:?})", self.inner)
    }
}

/// The stop moved (only ever in the position's favour).
#[pyclass(name = "StopMoved", module = "avd._core", frozen, get_all)]
pub struct PyStopMoved {
    position_id: u64,
    symbol: String,
    old_stop: Py<PyAny>,
    new_stop: Py<PyAny>,
    /// `"BreakEven"`, `"TrailingPercent"`, `"Chandelier"` or `"Manual"`.
    reason: &'static str,
    ts: i64,
}

/// Part of a position sold at a take-profit level.
#[pyclass(name = "PositionReduced", module = "avd._core", frozen, get_all)]
pub struct PyPositionReduced {
    position_id: u64,
    symbol: String,
    /// Index of the take-profit level.
    level: u8,
    /// Fraction of the initial quantity this level sells.
    fraction: Py<PyAny>,
    qty: Py<PyAny>,
    price: Py<PyAny>,
    ts: i64,
}

/// The position is closed; `qty` is what this exit sold.
#[pyclass(name = "PositionClosed", module = "avd._core", frozen, get_all)]
pub struct PyPositionClosed {
    position_id: u64,
    symbol: String,
    /// `"StopLoss"`, `"TrailingStop"`, `"BreakEvenStop"`, `"TakeProfit"`,
    /// `"TimeStop"` or `"Manual"`.
    reason: &'static str,
    price: Py<PyAny>,
    qty: Py<PyAny>,
    ts: i64,
}

macro_rules! event_repr {
    ($t:ty, $name:literal, $($f:ident),+) => {
        #[pymethods]
        impl $t {
            fn __repr__(&self, py: Python<'_>) -> String {
                let parts: Vec<String> = vec![$(format!("{}={}", stringify!($f), self.$f.bind_or_show(py))),+];
                format!("{}({})", $name, parts.join(", "))
            }
        }
    };
}

trait Show {
    fn bind_or_show(&self, py: Python<'_>) -> String;
}
impl Show for Py<PyAny> {
    fn bind_or_show(&self, py: Python<'_>) -> String {
        format!("Decimal('{}')", self.bind(py))
    }
}
impl Show for String {
    fn bind_or_show(&self, _: Python<'_>) -> String {
        format!("{self:?}")
    }
}
impl Show for &'static str {
    fn bind_or_show(&self, _: Python<'_>) -> String {
        format!("{self:?}")
    }
}
macro_rules! show_plain {
    ($($t:ty),+) => { $(impl Show for $t { fn bind_or_show(&self, _: Python<'_>) -> String { self.to_string() } })+ };
}
show_plain!(u64, i64, u8);

event_repr!(PyStopMoved, "StopMoved", position_id, symbol, old_stop, new_stop, reason, ts);
event_repr!(PyPositionReduced, "PositionReduced", position_id, symbol, level, fraction, qty, price, ts);
event_repr!(PyPositionClosed, "PositionClosed", position_id, symbol, reason, price, qty, ts);

fn event_to_py(py: Python<'_>, symbol: &str, f: &SymbolFilters, e: &StopEvent) -> PyResult<Py<PyAny>> {
    let dp = |t: i64| to_py(py, f.price(t)).map(Bound::unbind);
    let dq = |s: i64| to_py(py, f.qty(s)).map(Bound::unbind);
    Ok(match *e {
        StopEvent::SlAdjusted { position_id, old_stop, new_stop, reason, ts } => Py::new(
            py,
            PyStopMoved {
                position_id,
                symbol: symbol.to_owned(),
                old_stop: dp(old_stop)?,
                new_stop: dp(new_stop)?,
                reason: reason.as_str(),
                ts,
            },
        )?
        .into_any(),
        StopEvent::PartialExit { position_id, level, fraction_ppm, qty, price, ts } => Py::new(
            py,
            PyPositionReduced {
                position_id,
                symbol: symbol.to_owned(),
                level,
                fraction: to_py(py, units_dec(fraction_ppm, 6))?.unbind(),
                qty: dq(qty)?,
                price: dp(price)?,
                ts,
            },
        )?
        .into_any(),
        StopEvent::TradeClosed { position_id, reason, price, qty, ts } => Py::new(
            py,
            PyPositionClosed {
                position_id,
                symbol: symbol.to_owned(),
                reason: reason.as_str(),
                price: dp(price)?,
                qty: dq(qty)?,
                ts,
            },
        )?
        .into_any(),
    })
}

/// A snapshot of a tracked position.
#[pyclass(name = "PositionState", module = "avd._core", frozen, get_all)]
pub struct PyPositionState {
    position_id: u64,
    symbol: String,
    /// `"LONG"` or `"SHORT"`.
    side: &'static str,
    entry: Py<PyAny>,
    initial_stop: Py<PyAny>,
    stop: Py<PyAny>,
    /// `"Initial"`, `"BreakEven"`, `"Trailing"` or `"Manual"`.
    stop_kind: &'static str,
    /// Best price seen (highest for a long, lowest for a short).
    peak: Py<PyAny>,
    qty: Py<PyAny>,
    initial_qty: Py<PyAny>,
    opened_at: i64,
    bars: u32,
    next_take_profit: usize,
}

#[pymethods]
impl PyPositionState {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "PositionState(position_id={}, symbol={:?}, side={:?}, entry={}, stop={}, qty={})",
            self.position_id,
            self.symbol,
            self.side,
            self.entry.bind(py),
            self.stop.bind(py),
            self.qty.bind(py)
        )
    }
}

fn state_to_py(py: Python<'_>, f: &SymbolFilters, v: &PositionView) -> PyResult<PyPositionState> {
    Ok(PyPositionState {
        position_id: v.id,
        symbol: v.symbol.clone(),
        side: v.side.as_str(),
        entry: to_py(py, f.price(v.entry))?.unbind(),
        initial_stop: to_py(py, f.price(v.initial_stop))?.unbind(),
        stop: to_py(py, f.price(v.stop))?.unbind(),
        stop_kind: v.stop_kind.as_str(),
        peak: to_py(py, f.price(v.peak))?.unbind(),
        qty: to_py(py, f.qty(v.qty))?.unbind(),
        initial_qty: to_py(py, f.qty(v.initial_qty))?.unbind(),
        opened_at: v.opened_at,
        bars: v.bars,
        next_take_profit: v.next_take_profit,
    })
}

/// Every open position's stop, updated on every price.
#[pyclass(name = "StopTracker", module = "avd._core")]
pub struct PyStopTracker {
    inner: StopTracker,
    filters: HashMap<String, SymbolFilters>,
}

impl PyStopTracker {
    fn filters_of(&self, symbol: &str) -> PyResult<&SymbolFilters> {
        self.filters.get(symbol).ok_or_else(|| {
            CoreError::param("symbol", format!("{symbol} has no filters: call add_symbol(symbol, filters) first"))
                .into()
        })
    }

    fn ticks(&self, symbol: &str, price: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
        let f = PySymbolFilters { inner: *self.filters_of(symbol)? };
        f.ticks(price, name, Rounding::Exact)
    }

    fn atr_ticks(&self, symbol: &str, atr: Option<f64>) -> PyResult<Option<f64>> {
        let Some(a) = atr else { return Ok(None) };
        if !a.is_finite() || a < 0.0 {
            return Err(CoreError::InvalidInput(format!("`atr` must be finite and >= 0, got {a}")).into());
        }
        let f = self.filters_of(symbol)?;
        let tick = f.tick_atoms as f64 / 10f64.powi(f.price_scale as i32);
        Ok(Some(a / tick))
    }

    fn events<'py>(&self, py: Python<'py>, symbol: &str, events: &[StopEvent]) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        if events.is_empty() {
            return Ok(list);
        }
        let f = self.filters_of(symbol)?;
        for e in events {
            list.append(event_to_py(py, symbol, f, e)?)?;
        }
        Ok(list)
    }

    fn symbol_of(&self, id: u64) -> PyResult<String> {
        self.inner
            .get(id)
            .map(|v| v.symbol)
            .ok_or_else(|| CoreError::param("position_id", format!("{id} is not tracked")).into())
    }
}

/// Float market prices (numpy) to ticks: the nearest tick, which must be
/// within a millionth of a tick (market prices are on the grid).
fn float_ticks(f: &SymbolFilters, prices: &[f64]) -> PyResult<Vec<i64>> {
    let tick = f.tick_atoms as f64 / 10f64.powi(f.price_scale as i32);
    prices
        .iter()
        .map(|&p| {
            let t = p / tick;
            let r = t.round();
            if !p.is_finite() || (t - r).abs() > 1e-6 {
                return Err(CoreError::InvalidInput(format!("price {p} is not on the tick grid ({tick})")).into());
            }
            Ok(r as i64)
        })
        .collect()
}

#[pymethods]
impl PyStopTracker {
    /// `intrabar`: how `on_candle` walks a candle (the fill model's rule).
    #[new]
    #[pyo3(signature = (intrabar = "direction"))]
    fn py_new(intrabar: &str) -> PyResult<Self> {
        let path = IntrabarPath::parse(intrabar).ok_or_else(|| {
            CoreError::param(
                "intrabar",
                format!("must be direction, high_first, low_first or nearest_first, got {intrabar:?}"),
            )
        })?;
        Ok(Self { inner: StopTracker::new(path), filters: HashMap::new() })
    }

    /// Declares a symbol's filters (needed to convert its prices).
    fn add_symbol(&mut self, symbol: &str, filters: &PySymbolFilters) {
        self.filters.insert(symbol.to_owned(), filters.inner);
    }

    /// Starts tracking a position. `side`: `"LONG"`/`"BUY"` or
    /// `"SHORT"`/`"SELL"`; `entry`, `stop` and `qty` as Decimal or str on
    /// the symbol's grid.
    #[pyo3(signature = (position_id, symbol, side, entry, stop, qty, *, plan = None, opened_at = 0))]
    #[allow(clippy::too_many_arguments)]
    fn add_position(
        &mut self,
        position_id: u64,
        symbol: &str,
        side: &str,
        entry: &Bound<'_, PyAny>,
        stop: &Bound<'_, PyAny>,
        qty: &Bound<'_, PyAny>,
        plan: Option<PyRef<'_, PyStopPlan>>,
        opened_at: i64,
    ) -> PyResult<()> {
        let side = match side.to_ascii_uppercase().as_str() {
            "LONG" | "BUY" => PositionSide::Long,
            "SHORT" | "SELL" => PositionSide::Short,
            _ => return Err(CoreError::param("side", format!("must be LONG or SHORT, got {side:?}")).into()),
        };
        let f = PySymbolFilters { inner: *self.filters_of(symbol)? };
        let new = NewPosition {
            id: position_id,
            symbol,
            side,
            entry: f.ticks(entry, "entry", Rounding::Exact)?,
            stop: f.ticks(stop, "stop", Rounding::Exact)?,
            qty: f.steps(qty, "qty", Rounding::Exact)?,
            opened_at,
        };
        let plan = plan.map(|p| p.inner.clone()).unwrap_or_default();
        Ok(self.inner.add(&new, &plan)?)
    }

    /// Stops tracking a position silently; its last state, or None.
    fn remove(&mut self, py: Python<'_>, position_id: u64) -> PyResult<Option<PyPositionState>> {
        let Some(v) = self.inner.remove(position_id) else { return Ok(None) };
        state_to_py(py, self.filters_of(&v.symbol)?, &v).map(Some)
    }

    /// A position's state, or None.
    fn get(&self, py: Python<'_>, position_id: u64) -> PyResult<Option<PyPositionState>> {
        let Some(v) = self.inner.get(position_id) else { return Ok(None) };
        state_to_py(py, self.filters_of(&v.symbol)?, &v).map(Some)
    }

    /// Every open position's state.
    fn positions(&self, py: Python<'_>) -> PyResult<Vec<PyPositionState>> {
        self.inner.positions().iter().map(|v| state_to_py(py, self.filters_of(&v.symbol)?, v)).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, position_id: u64) -> bool {
        self.inner.contains(position_id)
    }

    /// Tightens a stop by hand (refuses to loosen it).
    fn set_stop<'py>(
        &mut self,
        py: Python<'py>,
        position_id: u64,
        stop: &Bound<'_, PyAny>,
        ts: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let symbol = self.symbol_of(position_id)?;
        let stop = self.ticks(&symbol, stop, "stop")?;
        let ev = self.inner.set_stop(position_id, stop, ts)?.to_vec();
        self.events(py, &symbol, &ev)
    }

    /// Reduces a position by `qty` (Decimal or str, on the step grid) sold
    /// outside the tracker; its new state. Selling all of it is a close.
    fn reduce(&mut self, py: Python<'_>, position_id: u64, qty: &Bound<'_, PyAny>) -> PyResult<PyPositionState> {
        let symbol = self.symbol_of(position_id)?;
        let f = PySymbolFilters { inner: *self.filters_of(&symbol)? };
        let steps = f.steps(qty, "qty", Rounding::Exact)?;
        let v = self.inner.reduce(position_id, steps)?;
        state_to_py(py, self.filters_of(&symbol)?, &v)
    }

    /// Closes a position by hand at `price` (reason `"Manual"`).
    fn close<'py>(
        &mut self,
        py: Python<'py>,
        position_id: u64,
        price: &Bound<'_, PyAny>,
        ts: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let symbol = self.symbol_of(position_id)?;
        let price = self.ticks(&symbol, price, "price")?;
        let ev = self.inner.close(position_id, price, ts)?.to_vec();
        self.events(py, &symbol, &ev)
    }

    /// One price of a symbol (Decimal or str) at `ts` ms, optionally with
    /// the latest ATR (in price units) for chandelier stops.
    #[pyo3(signature = (symbol, price, ts, atr = None))]
    fn on_price<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        price: &Bound<'_, PyAny>,
        ts: i64,
        atr: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        if self.inner.symbol_id(symbol).is_none() {
            return Ok(PyList::empty(py));
        }
        let price = self.ticks(symbol, price, "price")?;
        let atr = self.atr_ticks(symbol, atr)?;
        let ev = self.inner.on_price(symbol, price, ts, atr).to_vec();
        self.events(py, symbol, &ev)
    }

    /// One closed candle, replayed along the intrabar path; `atr` (price
    /// units) is the ATR at its close and applies from the close on.
    #[pyo3(signature = (symbol, open_time, close_time, open, high, low, close, atr = None))]
    #[allow(clippy::too_many_arguments)]
    fn on_candle<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        open_time: i64,
        close_time: i64,
        open: &Bound<'_, PyAny>,
        high: &Bound<'_, PyAny>,
        low: &Bound<'_, PyAny>,
        close: &Bound<'_, PyAny>,
        atr: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        if self.inner.symbol_id(symbol).is_none() {
            return Ok(PyList::empty(py));
        }
        let bar = Bar {
            open_time,
            close_time,
            open: self.ticks(symbol, open, "open")?,
            high: self.ticks(symbol, high, "high")?,
            low: self.ticks(symbol, low, "low")?,
            close: self.ticks(symbol, close, "close")?,
            volume: 0,
        };
        if bar.low > bar.open.min(bar.close) || bar.high < bar.open.max(bar.close) || close_time < open_time {
            return Err(CoreError::InvalidInput(format!("inconsistent candle at {open_time}")).into());
        }
        let atr = self.atr_ticks(symbol, atr)?;
        let ev = self.inner.on_candle(symbol, &bar, atr).to_vec();
        self.events(py, symbol, &ev)
    }

    /// Many prices of one symbol as numpy arrays, oldest first: `prices`
    /// int64 (ticks) or float64 (market prices, each on the tick grid), and
    /// `ts` int64 ms. The GIL is released while they run.
    fn on_prices<'py>(
        &mut self,
        py: Python<'py>,
        symbol: &str,
        prices: &Bound<'py, PyAny>,
        ts: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let ts_slice =
            ts.as_slice().map_err(|_| CoreError::InvalidInput("`ts` must be a contiguous int64 array".into()))?;
        if self.inner.symbol_id(symbol).is_none() {
            return Ok(PyList::empty(py));
        }
        let f = *self.filters_of(symbol)?;
        let ticks: Vec<i64> = if let Ok(a) = prices.extract::<PyReadonlyArray1<'py, i64>>() {
            a.as_slice().map_err(|_| CoreError::InvalidInput("`prices` must be contiguous".into()))?.to_vec()
        } else if let Ok(a) = prices.extract::<PyReadonlyArray1<'py, f64>>() {
            float_ticks(&f, a.as_slice().map_err(|_| CoreError::InvalidInput("`prices` must be contiguous".into()))?)?
        } else {
            return Err(
                CoreError::InvalidInput("`prices` must be an int64 (ticks) or float64 numpy array".into()).into()
            );
        };
        same_len(&[("prices", ticks.len()), ("ts", ts.len())])?;
        let inner = &mut self.inner;
        let ev = py.detach(|| inner.on_prices(symbol, &ticks, ts_slice).map(<[StopEvent]>::to_vec))?;
        self.events(py, symbol, &ev)
    }

    fn __repr__(&self) -> String {
        format!("StopTracker(positions={}, intrabar={:?})", self.inner.len(), self.inner.intrabar().as_str())
    }
}
