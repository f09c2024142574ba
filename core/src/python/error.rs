//! The Python exception tree, and the single `CoreError -> PyErr` mapping.
//!
//! `AvdError` is the root. Errors about bad values also derive from the
//! built-in `ValueError`, so `except ValueError` keeps working for callers
//! that do not know AVD's tree.
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::error::CoreError;

struct Tree {
    root: Py<PyType>,
    invalid_parameter: Py<PyType>,
    invalid_input: Py<PyType>,
    config: Py<PyType>,
    data: Py<PyType>,
    book_gap: Py<PyType>,
}

static TREE: PyOnceLock<Tree> = PyOnceLock::new();

fn make(py: Python<'_>, name: &str, bases: &Bound<'_, PyTuple>, doc: &str) -> PyResult<Py<PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__doc__", doc)?;
    dict.set_item("__module__", "avd._core")?;
    let builtins = py.import("builtins")?;
    let cls = builtins.getattr("type")?.call1((name, bases, dict))?;
    Ok(cls.cast_into::<PyType>()?.unbind())
}

fn tree(py: Python<'_>) -> PyResult<&Tree> {
    TREE.get_or_try_init(py, || {
        let exc = py.get_type::<PyException>();
        let value = py.get_type::<PyValueError>();
        let root = make(py, "AvdError", &PyTuple::new(py, [exc])?, "Root of every error raised by AVD's core.")?;
        let r = root.bind(py).clone();
        let pair = PyTuple::new(py, [r.clone(), value])?;
        Ok(Tree {
            invalid_parameter: make(py, "InvalidParameterError", &pair, "A parameter is out of its valid range.")?,
            invalid_input: make(
                py,
                "InvalidInputError",
                &pair,
                "Input data is unusable (length mismatch, bad values).",
            )?,
            config: make(py, "ConfigError", &pair, "A configuration failed to parse or validate.")?,
            data: make(py, "DataError", &pair, "A data file could not be read or parsed.")?,
            book_gap: make(
                py,
                "BookGapError",
                &PyTuple::new(py, [r.clone()])?,
                "A local order book missed depth updates (or has no snapshot): resync it from a new snapshot.",
            )?,
            root,
        })
    })
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let t = tree(py)?;
    m.add("AvdError", t.root.bind(py))?;
    m.add("InvalidParameterError", t.invalid_parameter.bind(py))?;
    m.add("InvalidInputError", t.invalid_input.bind(py))?;
    m.add("ConfigError", t.config.bind(py))?;
    m.add("DataError", t.data.bind(py))?;
    m.add("BookGapError", t.book_gap.bind(py))?;
    Ok(())
}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        Python::attach(|py| {
            let msg = err.to_string();
            let Ok(t) = tree(py) else {
                return PyValueError::new_err(msg);
            };
            let cls = match &err {
                CoreError::InvalidParameter { .. } => &t.invalid_parameter,
                CoreError::InvalidInput(_) => &t.invalid_input,
                CoreError::Config(_) => &t.config,
                CoreError::Data(_) => &t.data,
                CoreError::BookGap(_) => &t.book_gap,
                CoreError::Io(_) => return PyOSError::new_err(msg),
            };
            PyErr::from_type(cls.bind(py).clone(), msg)
        })
    }
}
