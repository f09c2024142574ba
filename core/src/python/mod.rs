//! The PyO3 layer: converts types and errors, nothing more.
//! One file per area; this file only registers them in `avd._core`.
pub mod error;
pub mod util;
// -- areas (one line each) --
pub mod indicators;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    use super::*;

    // -- indicators --
    #[pymodule_export]
    use super::indicators::py_module_placeholder;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        error::register(m)?;
        Ok(())
    }
}
