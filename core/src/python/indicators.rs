//! Bindings for the indicators (placeholder until the indicators land).
use pyo3::prelude::*;

/// Placeholder.
#[pyfunction]
pub fn py_module_placeholder() -> i32 {
    0
}
