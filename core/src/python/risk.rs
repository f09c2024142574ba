//! Bindings for position sizing: `size_position` and `PositionSize`.
use pyo3::prelude::*;

use super::fills::{parse_side, PySymbolFilters};
use super::money::{dec, opt_dec, to_py};
use crate::fills::Rounding;
use crate::risk::{size_position, SizeCap, SizingRequest};
use crate::signals::Side;

/// The outcome of `size_position`: an accepted quantity, or the rule that
/// refused it and why. Truthy when accepted.
#[pyclass(name = "PositionSize", module = "avd._core", frozen, get_all)]
pub struct PyPositionSize {
    accepted: bool,
    /// The quantity to trade (0 when refused).
    qty: Py<PyAny>,
    /// The risk-based quantity before caps (0 when refused).
    risk_qty: Py<PyAny>,
    /// `"MAX_QTY"`, `"MAX_NOTIONAL_FILTER"`, `"MAX_POSITION_NOTIONAL"`,
    /// `"CASH"` or None.
    capped_by: Option<&'static str>,
    /// `qty × entry` (quote asset).
    notional: Py<PyAny>,
    /// `qty × |entry − stop|`: the loss at the stop (quote asset).
    risk_amount: Py<PyAny>,
    /// `"STOP_SIDE"`, `"INPUT"`, `"LOT_SIZE"` or `"NOTIONAL"` when refused.
    rule: Option<&'static str>,
    /// The refusal, with the numbers.
    reason: Option<String>,
}

#[pymethods]
impl PyPositionSize {
    fn __bool__(&self) -> bool {
        self.accepted
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        if self.accepted {
            format!("PositionSize(qty={}, capped_by={:?})", self.qty.bind(py), self.capped_by)
        } else {
            format!("PositionSize(refused: {})", self.reason.as_deref().unwrap_or(""))
        }
    }
}

/// Sizes a position from the risk per trade:
/// `qty = equity × risk_pct / 100 / |entry − stop|`, rounded down to the
/// step, capped by maxQty, maxNotional, `max_notional` and `cash`.
/// Money as Decimal, str or int. `entry` is taken to the nearest tick, the
/// stop to the tick AWAY from the entry (the risk never exceeds the budget).
#[pyfunction]
#[pyo3(name = "size_position", signature = (filters, side, equity, risk_pct, entry, stop, *, cash = None, max_notional = None))]
#[allow(clippy::too_many_arguments)]
pub fn py_size_position(
    py: Python<'_>,
    filters: &PySymbolFilters,
    side: &str,
    equity: &Bound<'_, PyAny>,
    risk_pct: &Bound<'_, PyAny>,
    entry: &Bound<'_, PyAny>,
    stop: &Bound<'_, PyAny>,
    cash: Option<&Bound<'_, PyAny>>,
    max_notional: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyPositionSize> {
    let side = parse_side(side)?;
    let away = if side == Side::Buy { Rounding::Down } else { Rounding::Up };
    let req = SizingRequest {
        side,
        equity: dec(equity, "equity")?,
        risk_pct: dec(risk_pct, "risk_pct")?,
        entry: filters.ticks(entry, "entry", Rounding::Nearest)?,
        stop: filters.ticks(stop, "stop", away)?,
        cash: opt_dec(cash, "cash")?,
        max_notional: opt_dec(max_notional, "max_notional")?,
    };
    let f = &filters.inner;
    let zero = || to_py(py, f.qty(0)).map(Bound::unbind);
    Ok(match size_position(f, &req) {
        Ok(s) => PyPositionSize {
            accepted: true,
            qty: to_py(py, f.qty(s.qty))?.unbind(),
            risk_qty: to_py(py, f.qty(s.risk_qty))?.unbind(),
            capped_by: s.capped_by.map(SizeCap::as_str),
            notional: to_py(py, f.notional(s.notional).normalized())?.unbind(),
            risk_amount: to_py(py, f.notional(s.risk_amount).normalized())?.unbind(),
            rule: None,
            reason: None,
        },
        Err(r) => PyPositionSize {
            accepted: false,
            qty: zero()?,
            risk_qty: zero()?,
            capped_by: None,
            notional: to_py(py, f.notional(0))?.unbind(),
            risk_amount: to_py(py, f.notional(0))?.unbind(),
            rule: Some(r.rule.as_str()),
            reason: Some(r.to_string()),
        },
    })
}
