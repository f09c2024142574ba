//! Decimal interop at the boundary: money goes in and out as
//! `decimal.Decimal` (or decimal strings / ints), never as floats.
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyString};

use crate::error::CoreError;
use crate::fills::Dec;

static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn decimal_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(DECIMAL.get_or_try_init(py, || py.import("decimal")?.getattr("Decimal").map(Bound::unbind))?.bind(py))
}

/// A `decimal.Decimal`, str or int as an exact decimal; floats are refused.
///
/// # Errors
/// `InvalidInputError` naming the argument.
pub fn dec(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Dec> {
    if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyBool>() {
        return Err(CoreError::InvalidInput(format!(
            "`{name}` must be a Decimal, str or int, not {}: floats are not accepted for money",
            obj.get_type().name()?
        ))
        .into());
    }
    let text =
        if obj.is_instance_of::<PyString>() { obj.extract::<String>()? } else { obj.str()?.extract::<String>()? };
    Dec::parse(&text).map_err(|e| CoreError::InvalidInput(format!("`{name}`: {e}")).into())
}

/// Like [`dec`], None passes through.
///
/// # Errors
/// As [`dec`].
pub fn opt_dec(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<Dec>> {
    obj.filter(|o| !o.is_none()).map(|o| dec(o, name)).transpose()
}

/// A ratio (percent, R multiple, multiplier): like [`dec`], but floats are
/// accepted through their shortest repr (`0.5` → `"0.5"`): ratios are
/// configuration, not money.
///
/// # Errors
/// `InvalidInputError` naming the argument.
pub fn ratio(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Dec> {
    if obj.is_instance_of::<PyFloat>() {
        let text = obj.repr()?.extract::<String>()?;
        return Dec::parse(&text).map_err(|e| CoreError::InvalidInput(format!("`{name}`: {e}")).into());
    }
    dec(obj, name)
}

/// An exact decimal as `decimal.Decimal`.
///
/// # Errors
/// Only if the `decimal` module cannot be imported.
pub fn to_py(py: Python<'_>, d: Dec) -> PyResult<Bound<'_, PyAny>> {
    decimal_class(py)?.call1((d.to_string(),))
}

/// An exact decimal as an integer count of `unit` (ppm, thousandths...).
///
/// # Errors
/// `InvalidParameterError` when the value is negative, finer than the unit
/// or too large.
pub fn in_units(d: Dec, decimals: u32, name: &str) -> PyResult<u32> {
    let u = d.units_at(decimals).ok_or_else(|| {
        CoreError::param(name, format!("{d} has more than {decimals} decimals (the resolution of this setting)"))
    })?;
    u32::try_from(u).map_err(|_| CoreError::param(name, format!("must be >= 0 and not too large, got {d}")).into())
}
