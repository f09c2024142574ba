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
    use super::indicators::{
        py_adx, py_atr, py_bbands, py_donchian, py_ema, py_macd, py_minus_di, py_obv, py_plus_di, py_roc, py_rsi,
        py_sma, py_stddev, py_stoch, py_vwap, py_wma, py_zscore, PyAdx, PyAtr, PyBBands, PyDonchian, PyEma, PyMacd,
        PyObv, PyRoc, PyRsi, PySma, PyStdDev, PyStoch, PyVwap, PyWma, PyZScore,
    };

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        error::register(m)?;
        Ok(())
    }
}
