//! Small conversion helpers shared by the binding files.
use numpy::{Element, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::error::CoreError;

/// Borrows a contiguous float64 array as a slice.
///
/// # Errors
/// `InvalidInputError` if the array is not contiguous (the Python wrappers
/// make it contiguous before calling).
pub fn slice<'a>(a: &'a PyReadonlyArray1<'_, f64>, name: &str) -> PyResult<&'a [f64]> {
    a.as_slice().map_err(|_| CoreError::InvalidInput(format!("`{name}` must be a contiguous float64 array")).into())
}

/// Checks that every named column has the length of the first.
///
/// # Errors
/// `InvalidInputError` naming the first column whose length differs.
pub fn same_len(cols: &[(&str, usize)]) -> Result<usize, CoreError> {
    let Some(&(first, n)) = cols.first() else { return Ok(0) };
    for &(name, len) in &cols[1..] {
        if len != n {
            return Err(CoreError::InvalidInput(format!(
                "input arrays have different lengths: `{first}` has {n}, `{name}` has {len}"
            )));
        }
    }
    Ok(n)
}

/// Moves a `Vec<f64>` into a new numpy array without copying.
pub fn to_numpy(py: Python<'_>, v: Vec<f64>) -> Py<PyArray1<f64>> {
    PyArray1::from_vec(py, v).unbind()
}

/// A new array of `n` uninitialised elements from `numpy.empty`, for outputs
/// a kernel writes in full (as TA-Lib's wrapper allocates its outputs):
/// no zero-fill, and numpy's allocator reuses freed blocks and asks the
/// kernel for huge pages, where a fresh Rust `Vec` of megabytes faults in
/// page by page.
///
/// # Errors
/// What importing numpy or calling `numpy.empty` raises.
pub fn empty<T: Element>(py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyArray1<T>>> {
    let dtype = numpy::dtype::<T>(py);
    Ok(py.import("numpy")?.getattr("empty")?.call1((n, dtype))?.cast_into::<PyArray1<T>>()?)
}
