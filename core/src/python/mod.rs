//! The `PyO3` layer: converts types and errors, nothing more.
//! One file per area; this file only registers them in `avd._core`.
pub mod backtest;
pub mod candles;
pub mod engine;
pub mod error;
pub mod fills;
pub mod indicators;
pub mod levels;
pub mod money;
pub mod orderbook;
pub mod orderflow;
pub mod regimes;
pub mod risk;
pub mod stops;
pub mod strategy;
pub mod util;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    use super::{error, Bound, PyModule, PyModuleMethods, PyResult};

    // -- indicators --
    #[pymodule_export]
    use super::indicators::{
        py_adx, py_atr, py_bbands, py_donchian, py_ema, py_macd, py_minus_di, py_obv, py_plus_di, py_roc, py_rsi,
        py_sma, py_stddev, py_stoch, py_vwap, py_wma, py_zscore, PyAdx, PyAtr, PyBBands, PyDonchian, PyEma, PyMacd,
        PyObv, PyRoc, PyRsi, PySma, PyStdDev, PyStoch, PyVwap, PyWma, PyZScore,
    };

    // -- levels --
    #[pymodule_export]
    use super::levels::{py_confluence, py_fibonacci, py_pivots, py_support_resistance, py_swings, PyLevelTracker};

    // -- backtest --
    #[pymodule_export]
    use super::backtest::py_from_signals;
    #[pymodule_export]
    use super::strategy::{
        py_check_backtest_config, py_default_backtest_config, py_run_backtest, py_run_sweep, py_run_sweep_chunk,
        py_sweep_plan, py_walk_forward, PyProgress,
    };

    // -- candles --
    #[pymodule_export]
    use super::candles::{py_interval_ms, py_next_open_time, py_read_candles, PyCandleBuffer};

    // -- engine --
    #[pymodule_export]
    use super::engine::{PyBatchResult, PyContextScore, PyEngineConfig, PyMarketEngine, PyTradeSignal};

    // -- fills --
    #[pymodule_export]
    use super::fills::{PyExecution, PyFill, PyFillModel, PyFilterViolation, PySimOrder, PySymbolFilters};

    // -- stops --
    #[pymodule_export]
    use super::stops::{PyPositionClosed, PyPositionReduced, PyPositionState, PyStopMoved, PyStopPlan, PyStopTracker};

    // -- risk --
    #[pymodule_export]
    use super::risk::{py_size_position, PyPositionSize};

    // -- regimes --
    #[pymodule_export]
    use super::regimes::{py_hmm_init, PyGaussianHmmParams, PyRegimeFilter};

    // -- order book and order flow --
    #[pymodule_export]
    use super::orderbook::PyOrderBook;
    #[pymodule_export]
    use super::orderflow::{py_candle_cvd, py_candle_delta, py_cvd, PyOrderFlow};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        error::register(m)?;
        Ok(())
    }
}
