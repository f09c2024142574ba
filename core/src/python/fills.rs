//! Bindings for the fill model: `SymbolFilters`, `FillModel`, `SimOrder`,
//! `Fill`, `Execution`, `FilterViolation`. Prices and quantities cross the
//! boundary as `decimal.Decimal`.
use pyo3::prelude::*;

use super::money::{dec, opt_dec, to_py};
use crate::error::CoreError;
use crate::fills::{
    Bar, Bps, Dec, Execution, FeeSchedule, Fill, FillConfig, FillModel, FilterSpec, FilterViolation, IntrabarPath,
    LimitFill, Liquidity, Order, OrderKind, PricePoint, Rounding, SimOrder, Slippage, SymbolFilters,
};
use crate::signals::Side;

pub fn parse_side(s: &str) -> PyResult<Side> {
    match s.to_ascii_uppercase().as_str() {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(CoreError::param("side", format!("must be \"BUY\" or \"SELL\", got {s:?}")).into()),
    }
}

fn parse_rounding(s: &str) -> PyResult<Rounding> {
    match s {
        "exact" => Ok(Rounding::Exact),
        "down" => Ok(Rounding::Down),
        "up" => Ok(Rounding::Up),
        "nearest" => Ok(Rounding::Nearest),
        _ => Err(CoreError::param("rounding", format!("must be exact, down, up or nearest, got {s:?}")).into()),
    }
}

fn bps(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<Bps>> {
    Ok(match opt_dec(obj, name)? {
        Some(d) => Some(Bps::from_dec(name, d)?),
        None => None,
    })
}

/// A filter an order violates: which one (`"LOT_SIZE"`, `"PRICE_FILTER"`,
/// `"NOTIONAL"`) and the numbers.
#[pyclass(name = "FilterViolation", module = "avd._core", frozen)]
pub struct PyFilterViolation {
    #[pyo3(get)]
    filter: &'static str,
    #[pyo3(get)]
    detail: String,
}

impl From<FilterViolation> for PyFilterViolation {
    fn from(v: FilterViolation) -> Self {
        Self { filter: v.filter.as_str(), detail: v.detail }
    }
}

#[pymethods]
impl PyFilterViolation {
    fn __str__(&self) -> String {
        format!("{}: {}", self.filter, self.detail)
    }
    fn __repr__(&self) -> String {
        format!("FilterViolation(filter={:?}, detail={:?})", self.filter, self.detail)
    }
}

/// A symbol's `PRICE_FILTER`, `LOT_SIZE` and NOTIONAL filters (Binance's
/// exchangeInfo values as Decimal or str; 0 or None = no bound).
#[pyclass(name = "SymbolFilters", module = "avd._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PySymbolFilters {
    pub inner: SymbolFilters,
}

impl PySymbolFilters {
    pub fn ticks(&self, price: &Bound<'_, PyAny>, name: &str, rounding: Rounding) -> PyResult<i64> {
        let d = dec(price, name)?;
        self.inner.price_to_ticks(d, rounding).map_err(|e| CoreError::InvalidInput(format!("`{name}`: {e}")).into())
    }
    pub fn steps(&self, qty: &Bound<'_, PyAny>, name: &str, rounding: Rounding) -> PyResult<i64> {
        let d = dec(qty, name)?;
        self.inner.qty_to_steps(d, rounding).map_err(|e| CoreError::InvalidInput(format!("`{name}`: {e}")).into())
    }
}

#[pymethods]
impl PySymbolFilters {
    #[new]
    #[pyo3(signature = (tick_size, step_size, *, min_qty = None, max_qty = None, min_notional = None,
                        max_notional = None, min_price = None, max_price = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        tick_size: &Bound<'_, PyAny>,
        step_size: &Bound<'_, PyAny>,
        min_qty: Option<&Bound<'_, PyAny>>,
        max_qty: Option<&Bound<'_, PyAny>>,
        min_notional: Option<&Bound<'_, PyAny>>,
        max_notional: Option<&Bound<'_, PyAny>>,
        min_price: Option<&Bound<'_, PyAny>>,
        max_price: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let spec = FilterSpec {
            tick_size: dec(tick_size, "tick_size")?,
            step_size: dec(step_size, "step_size")?,
            min_qty: opt_dec(min_qty, "min_qty")?.unwrap_or(Dec::ZERO),
            max_qty: opt_dec(max_qty, "max_qty")?,
            min_notional: opt_dec(min_notional, "min_notional")?.unwrap_or(Dec::ZERO),
            max_notional: opt_dec(max_notional, "max_notional")?,
            min_price: opt_dec(min_price, "min_price")?.unwrap_or(Dec::ZERO),
            max_price: opt_dec(max_price, "max_price")?,
        };
        Ok(Self { inner: SymbolFilters::new_checked(&spec)? })
    }

    #[getter]
    fn tick_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.price(1))
    }
    #[getter]
    fn step_size<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.qty(1))
    }
    #[getter]
    fn min_qty<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.qty(self.inner.min_qty))
    }
    #[getter]
    fn max_qty<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        (self.inner.max_qty != i64::MAX).then(|| to_py(py, self.inner.qty(self.inner.max_qty))).transpose()
    }
    #[getter]
    fn min_notional<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.notional(self.inner.min_notional).normalized())
    }
    #[getter]
    fn max_notional<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        (self.inner.max_notional != i128::MAX)
            .then(|| to_py(py, self.inner.notional(self.inner.max_notional).normalized()))
            .transpose()
    }
    #[getter]
    fn min_price<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.price(self.inner.min_price))
    }
    #[getter]
    fn max_price<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        (self.inner.max_price != i64::MAX).then(|| to_py(py, self.inner.price(self.inner.max_price))).transpose()
    }
    /// Decimals of tickSize.
    #[getter]
    fn price_scale(&self) -> u32 {
        self.inner.price_scale
    }
    /// Decimals of stepSize.
    #[getter]
    fn qty_scale(&self) -> u32 {
        self.inner.qty_scale
    }

    /// A price in ticks (`rounding`: exact, down, up or nearest).
    #[pyo3(signature = (price, rounding = "exact"))]
    fn to_ticks(&self, price: &Bound<'_, PyAny>, rounding: &str) -> PyResult<i64> {
        self.ticks(price, "price", parse_rounding(rounding)?)
    }
    /// Ticks back to a Decimal price.
    #[pyo3(name = "from_ticks")]
    fn py_from_ticks<'py>(&self, py: Python<'py>, ticks: i64) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.price(ticks))
    }
    /// A quantity in steps (`rounding`: exact, down, up or nearest).
    #[pyo3(signature = (qty, rounding = "exact"))]
    fn to_steps(&self, qty: &Bound<'_, PyAny>, rounding: &str) -> PyResult<i64> {
        self.steps(qty, "qty", parse_rounding(rounding)?)
    }
    /// Steps back to a Decimal quantity.
    #[pyo3(name = "from_steps")]
    fn py_from_steps<'py>(&self, py: Python<'py>, steps: i64) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.qty(steps))
    }

    /// A quantity rounded down to stepSize.
    fn round_qty<'py>(&self, py: Python<'py>, qty: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.qty(self.steps(qty, "qty", Rounding::Down)?))
    }

    /// A price on the tick grid: with `side`, in the passive direction (BUY
    /// down, SELL up: never worse than asked); else as `rounding` says.
    #[pyo3(signature = (price, side = None, rounding = "nearest"))]
    fn round_price<'py>(
        &self,
        py: Python<'py>,
        price: &Bound<'_, PyAny>,
        side: Option<&str>,
        rounding: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ticks = match side {
            Some(s) => self.inner.round_limit_price(parse_side(s)?, dec(price, "price")?)?,
            None => self.ticks(price, "price", parse_rounding(rounding)?)?,
        };
        to_py(py, self.inner.price(ticks))
    }

    /// None if the order passes every filter, else the first violation.
    fn check(&self, price: &Bound<'_, PyAny>, qty: &Bound<'_, PyAny>) -> PyResult<Option<PyFilterViolation>> {
        Ok(self.inner.check_decimal(dec(price, "price")?, dec(qty, "qty")?).err().map(Into::into))
    }

    fn __repr__(&self) -> String {
        let f = &self.inner;
        format!(
            "SymbolFilters(tick_size='{}', step_size='{}', min_qty='{}', min_notional='{}')",
            f.price(1),
            f.qty(1),
            f.qty(f.min_qty),
            f.notional(f.min_notional).normalized()
        )
    }
}

/// One execution.
#[pyclass(name = "Fill", module = "avd._core", frozen)]
pub struct PyFill {
    #[pyo3(get)]
    ts: i64,
    #[pyo3(get)]
    price: Py<PyAny>,
    #[pyo3(get)]
    qty: Py<PyAny>,
    /// `"MAKER"` or `"TAKER"`.
    #[pyo3(get)]
    liquidity: &'static str,
    #[pyo3(get)]
    commission: Py<PyAny>,
    /// `"BASE"` (a BUY) or `"QUOTE"` (a SELL).
    #[pyo3(get)]
    commission_asset: &'static str,
}

impl PyFill {
    pub fn new(py: Python<'_>, f: &SymbolFilters, fill: &Fill) -> PyResult<Self> {
        Ok(Self {
            ts: fill.ts,
            price: to_py(py, f.price(fill.price))?.unbind(),
            qty: to_py(py, f.qty(fill.qty))?.unbind(),
            liquidity: fill.liquidity.as_str(),
            commission: to_py(py, fill.commission.to_dec())?.unbind(),
            commission_asset: fill.commission.asset.as_str(),
        })
    }
}

#[pymethods]
impl PyFill {
    #[getter]
    fn is_maker(&self) -> bool {
        self.liquidity == "MAKER"
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Fill(ts={}, price={}, qty={}, liquidity={:?}, commission={} {})",
            self.ts,
            self.price.bind(py),
            self.qty.bind(py),
            self.liquidity,
            self.commission.bind(py),
            self.commission_asset
        )
    }
}

/// An order's outcome over a path.
#[pyclass(name = "Execution", module = "avd._core", frozen)]
pub struct PyExecution {
    #[pyo3(get)]
    fills: Vec<Py<PyFill>>,
    /// `"NEW"`, `"PARTIALLY_FILLED"` or `"FILLED"`.
    #[pyo3(get)]
    status: &'static str,
    #[pyo3(get)]
    filled: Py<PyAny>,
    #[pyo3(get)]
    remaining: Py<PyAny>,
    #[pyo3(get)]
    triggered: bool,
}

impl PyExecution {
    fn new(py: Python<'_>, f: &SymbolFilters, qty: i64, ex: &Execution) -> PyResult<Self> {
        let fills = ex.fills.iter().map(|x| Py::new(py, PyFill::new(py, f, x)?)).collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            fills,
            status: ex.status.as_str(),
            filled: to_py(py, f.qty(qty - ex.remaining))?.unbind(),
            remaining: to_py(py, f.qty(ex.remaining))?.unbind(),
            triggered: ex.triggered,
        })
    }
}

#[pymethods]
impl PyExecution {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Execution(status={:?}, filled={}, remaining={}, fills={})",
            self.status,
            self.filled.bind(py),
            self.remaining.bind(py),
            self.fills.len()
        )
    }
}

/// One candle or point as ticks / steps.
fn bar_of(f: &PySymbolFilters, c: &Bound<'_, PyAny>) -> PyResult<Bar> {
    let t = c.cast::<pyo3::types::PyTuple>().ok().filter(|t| t.len() == 7).ok_or_else(|| {
        CoreError::InvalidInput("a candle is a 7-tuple (open_time, close_time, o, h, l, c, volume)".into())
    })?;
    let price = |i: usize, name: &str| f.ticks(&t.get_item(i)?, name, Rounding::Exact);
    let open_time: i64 = t.get_item(0)?.extract()?;
    let close_time: i64 = t.get_item(1)?.extract()?;
    let bar = Bar {
        open_time,
        close_time,
        open: price(2, "open")?,
        high: price(3, "high")?,
        low: price(4, "low")?,
        close: price(5, "close")?,
        volume: f.steps(&t.get_item(6)?, "volume", Rounding::Down)?,
    };
    if bar.low > bar.open.min(bar.close) || bar.high < bar.open.max(bar.close) || close_time < open_time {
        return Err(CoreError::InvalidInput(format!("inconsistent candle at {open_time}")).into());
    }
    Ok(bar)
}

fn point_of(f: &PySymbolFilters, p: &Bound<'_, PyAny>) -> PyResult<PricePoint> {
    let t = p.cast::<pyo3::types::PyTuple>().map_err(|_| CoreError::InvalidInput("a point is a tuple".into()))?;
    let ts: i64 = t.get_item(0)?.extract()?;
    let price = f.ticks(&t.get_item(1)?, "price", Rounding::Exact)?;
    let volume = if t.len() > 2 { f.steps(&t.get_item(2)?, "volume", Rounding::Down)? } else { 0 };
    Ok(PricePoint { ts, price, volume })
}

#[allow(clippy::too_many_arguments)]
fn make_order(
    f: &PySymbolFilters,
    side: &str,
    qty: &Bound<'_, PyAny>,
    sent_at: i64,
    order_type: &str,
    price: Option<&Bound<'_, PyAny>>,
    stop_price: Option<&Bound<'_, PyAny>>,
) -> PyResult<Order> {
    let need = |o: Option<&Bound<'_, PyAny>>, name: &str| -> PyResult<i64> {
        let o = o.ok_or_else(|| CoreError::param(name, format!("a {order_type} order needs `{name}`")))?;
        f.ticks(o, name, Rounding::Exact)
    };
    let kind = match order_type.to_ascii_uppercase().as_str() {
        "MARKET" => OrderKind::Market,
        "LIMIT" => OrderKind::Limit { price: need(price, "price")? },
        "STOP_LOSS" | "STOP_MARKET" => OrderKind::StopMarket { stop: need(stop_price, "stop_price")? },
        "STOP_LOSS_LIMIT" | "STOP_LIMIT" => {
            OrderKind::StopLimit { stop: need(stop_price, "stop_price")?, limit: need(price, "price")? }
        }
        other => {
            return Err(CoreError::param(
                "order_type",
                format!("must be MARKET, LIMIT, STOP_LOSS or STOP_LOSS_LIMIT, got {other:?}"),
            )
            .into())
        }
    };
    Ok(Order { side: parse_side(side)?, kind, qty: f.steps(qty, "qty", Rounding::Exact)?, sent_at })
}

/// The fill model: fees, slippage, latency and the intrabar path.
#[pyclass(name = "FillModel", module = "avd._core", frozen)]
pub struct PyFillModel {
    inner: FillModel,
}

#[pymethods]
impl PyFillModel {
    #[new]
    #[pyo3(signature = (*, maker_bps = None, taker_bps = None, bnb_discount = false, commission_precision = 8,
                        slippage_bps = None, volume_impact_bps = None, volume_cap_bps = None, latency_ms = 0,
                        intrabar = "direction", limit_fill = "through", max_volume_share_bps = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        maker_bps: Option<&Bound<'_, PyAny>>,
        taker_bps: Option<&Bound<'_, PyAny>>,
        bnb_discount: bool,
        commission_precision: u32,
        slippage_bps: Option<&Bound<'_, PyAny>>,
        volume_impact_bps: Option<&Bound<'_, PyAny>>,
        volume_cap_bps: Option<&Bound<'_, PyAny>>,
        latency_ms: i64,
        intrabar: &str,
        limit_fill: &str,
        max_volume_share_bps: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let d = FeeSchedule::default();
        if commission_precision > 18 {
            return Err(CoreError::param("commission_precision", "must be <= 18").into());
        }
        let fees = FeeSchedule {
            maker: bps(maker_bps, "maker_bps")?.unwrap_or(d.maker),
            taker: bps(taker_bps, "taker_bps")?.unwrap_or(d.taker),
            bnb_discount,
            commission_precision,
        };
        let slippage = match (bps(slippage_bps, "slippage_bps")?, bps(volume_impact_bps, "volume_impact_bps")?) {
            (Some(_), Some(_)) => {
                return Err(CoreError::param("slippage_bps", "give slippage_bps or volume_impact_bps, not both").into())
            }
            (Some(b), None) => Slippage::Fixed(b),
            (None, Some(impact)) => {
                let cap = bps(volume_cap_bps, "volume_cap_bps")?
                    .ok_or_else(|| CoreError::param("volume_cap_bps", "volume-share slippage needs a cap"))?;
                Slippage::VolumeShare { impact, cap }
            }
            (None, None) => Slippage::None,
        };
        let intrabar = IntrabarPath::parse(intrabar).ok_or_else(|| {
            CoreError::param(
                "intrabar",
                format!("must be direction, high_first, low_first or nearest_first, got {intrabar:?}"),
            )
        })?;
        let limit_fill = LimitFill::parse(limit_fill)
            .ok_or_else(|| CoreError::param("limit_fill", format!("must be through or touch, got {limit_fill:?}")))?;
        let cfg = FillConfig {
            fees,
            slippage,
            latency_ms,
            intrabar,
            limit_fill,
            max_volume_share: bps(max_volume_share_bps, "max_volume_share_bps")?,
        };
        Ok(Self { inner: FillModel::new_checked(cfg)? })
    }

    #[getter]
    fn maker_bps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.config().fees.maker.to_dec())
    }
    #[getter]
    fn taker_bps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.inner.config().fees.taker.to_dec())
    }
    #[getter]
    fn bnb_discount(&self) -> bool {
        self.inner.config().fees.bnb_discount
    }
    #[getter]
    fn latency_ms(&self) -> i64 {
        self.inner.config().latency_ms
    }
    #[getter]
    fn intrabar(&self) -> &'static str {
        self.inner.config().intrabar.as_str()
    }
    #[getter]
    fn limit_fill(&self) -> &'static str {
        self.inner.config().limit_fill.as_str()
    }
    /// `"none"`, `"fixed"` or `"volume_share"`.
    #[getter]
    fn slippage(&self) -> &'static str {
        match self.inner.config().slippage {
            Slippage::None => "none",
            Slippage::Fixed(_) => "fixed",
            Slippage::VolumeShare { .. } => "volume_share",
        }
    }

    /// The commission of a fill (in the base asset for a BUY, the quote
    /// asset for a SELL), rounded up to the commission precision.
    #[pyo3(signature = (filters, side, price, qty, *, maker = false))]
    fn fee<'py>(
        &self,
        py: Python<'py>,
        filters: &PySymbolFilters,
        side: &str,
        price: &Bound<'_, PyAny>,
        qty: &Bound<'_, PyAny>,
        maker: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let liq = if maker { Liquidity::Maker } else { Liquidity::Taker };
        let (t, s) = (filters.ticks(price, "price", Rounding::Exact)?, filters.steps(qty, "qty", Rounding::Exact)?);
        let c = self.inner.config().fees.commission(&filters.inner, parse_side(side)?, t, s, liq);
        to_py(py, c.to_dec())
    }

    /// Runs one order over a path: `points` as `(ts, price[, volume])`
    /// tuples, or `candles` as `(open_time, close_time, open, high, low,
    /// close, volume)` tuples (Decimal or str values). Returns the
    /// `Execution`, or the `FilterViolation` that refused the order.
    #[pyo3(signature = (filters, side, qty, sent_at, *, order_type = "MARKET", price = None, stop_price = None,
                        points = None, candles = None))]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        py: Python<'_>,
        filters: &PySymbolFilters,
        side: &str,
        qty: &Bound<'_, PyAny>,
        sent_at: i64,
        order_type: &str,
        price: Option<&Bound<'_, PyAny>>,
        stop_price: Option<&Bound<'_, PyAny>>,
        points: Option<Vec<Bound<'_, PyAny>>>,
        candles: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Py<PyAny>> {
        let order = make_order(filters, side, qty, sent_at, order_type, price, stop_price)?;
        let f = &filters.inner;
        let result = match (points, candles) {
            (Some(p), None) => {
                let path = p.iter().map(|x| point_of(filters, x)).collect::<PyResult<Vec<_>>>()?;
                self.inner.execute_points(f, order, &path)
            }
            (None, Some(c)) => {
                let bars = c.iter().map(|x| bar_of(filters, x)).collect::<PyResult<Vec<_>>>()?;
                self.inner.execute_bars(f, order, &bars)
            }
            _ => return Err(CoreError::InvalidInput("give exactly one of `points` or `candles`".into()).into()),
        };
        Ok(match result {
            Ok(ex) => Py::new(py, PyExecution::new(py, f, order.qty, &ex)?)?.into_any(),
            Err(v) => Py::new(py, PyFilterViolation::from(v))?.into_any(),
        })
    }

    /// Starts a working order for the paper exchange: feed it prices with
    /// `SimOrder.on_price` / `on_candle`. Raises `InvalidInputError` with
    /// the filter's reason if the order violates a filter.
    #[pyo3(signature = (filters, side, qty, sent_at, *, order_type = "MARKET", price = None, stop_price = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        filters: &PySymbolFilters,
        side: &str,
        qty: &Bound<'_, PyAny>,
        sent_at: i64,
        order_type: &str,
        price: Option<&Bound<'_, PyAny>>,
        stop_price: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySimOrder> {
        let order = make_order(filters, side, qty, sent_at, order_type, price, stop_price)?;
        let sim = self.inner.submit(&filters.inner, order).map_err(|v| CoreError::InvalidInput(v.to_string()))?;
        Ok(PySimOrder { sim, config: *self.inner.config(), filters: filters.clone() })
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "FillModel(maker_bps={}, taker_bps={}, bnb_discount={}, latency_ms={}, intrabar={:?}, slippage={:?})",
            c.fees.maker.to_dec(),
            c.fees.taker.to_dec(),
            c.fees.bnb_discount,
            c.latency_ms,
            c.intrabar.as_str(),
            self.slippage()
        )
    }
}

/// A working order in the simulation, fed one price or candle at a time.
#[pyclass(name = "SimOrder", module = "avd._core")]
pub struct PySimOrder {
    sim: SimOrder,
    config: FillConfig,
    filters: PySymbolFilters,
}

#[pymethods]
impl PySimOrder {
    /// One observed price (Decimal or str), with the traded volume if known.
    #[pyo3(signature = (ts, price, volume = None))]
    fn on_price(
        &mut self,
        py: Python<'_>,
        ts: i64,
        price: &Bound<'_, PyAny>,
        volume: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<PyFill>> {
        let price = self.filters.ticks(price, "price", Rounding::Exact)?;
        let volume = volume.map(|v| self.filters.steps(v, "volume", Rounding::Down)).transpose()?.unwrap_or(0);
        let fill = self.sim.on_point(&self.config, PricePoint { ts, price, volume });
        fill.map(|f| PyFill::new(py, &self.filters.inner, &f)).transpose()
    }

    /// One candle, replayed along the model's intrabar path.
    #[allow(clippy::too_many_arguments)]
    fn on_candle(
        &mut self,
        py: Python<'_>,
        open_time: i64,
        close_time: i64,
        open: &Bound<'_, PyAny>,
        high: &Bound<'_, PyAny>,
        low: &Bound<'_, PyAny>,
        close: &Bound<'_, PyAny>,
        volume: &Bound<'_, PyAny>,
    ) -> PyResult<Option<PyFill>> {
        let t = pyo3::types::PyTuple::new(
            py,
            [
                open_time.into_pyobject(py)?.into_any(),
                close_time.into_pyobject(py)?.into_any(),
                open.clone(),
                high.clone(),
                low.clone(),
                close.clone(),
                volume.clone(),
            ],
        )?;
        let bar = bar_of(&self.filters, t.as_any())?;
        let fill = self.sim.on_bar(&self.config, &bar);
        fill.map(|f| PyFill::new(py, &self.filters.inner, &f)).transpose()
    }

    /// `"NEW"`, `"PARTIALLY_FILLED"` or `"FILLED"`.
    #[getter]
    fn status(&self) -> &'static str {
        self.sim.status().as_str()
    }
    #[getter]
    fn remaining<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.filters.inner.qty(self.sim.remaining()))
    }
    #[getter]
    fn filled<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.filters.inner.qty(self.sim.filled()))
    }
    #[getter]
    fn triggered(&self) -> bool {
        self.sim.triggered()
    }
    /// When the order reaches the simulated exchange (`sent_at` + latency).
    #[getter]
    fn arrive_at(&self) -> i64 {
        self.sim.arrive_at()
    }
    fn __repr__(&self) -> String {
        let o = self.sim.order();
        format!(
            "SimOrder(side={:?}, type={:?}, status={:?}, remaining={})",
            o.side.as_str(),
            o.kind.as_str(),
            self.status(),
            self.filters.inner.qty(self.sim.remaining())
        )
    }
}
