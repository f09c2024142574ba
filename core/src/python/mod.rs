//! The `PyO3` layer: converts types and errors, nothing more.
//! One file per area; this file only registers them in `avd._core`.
pub mod backtest;
pub mod candles;
pub mod engine;
pub mod error;
pub mod indicators;
pub mod util;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    use super::{error, Bound, PyModule, PyModuleMethods, PyResult};

    // -- indicators --
    #[pymodule_export]
    use super::indicators::py_module_placeholder;

    // -- backtest --
    #[pymodule_export]
    use super::backtest::py_from_signals;

    // -- candles --
    #[pymodule_export]
    use super::candles::{py_interval_ms, py_next_open_time, py_read_candles, PyCandleBuffer};

    // -- engine --
    #[pymodule_export]
    use super::engine::{PyBatchResult, PyContextScore, PyEngineConfig, PyMarketEngine, PyTradeSignal};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        error::register(m)?;
        Ok(())
    }
}
