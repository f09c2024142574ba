//! Bindings for the signal backtester and the statistics.
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadwriteArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use super::util::slice;
use crate::backtest::{from_signals_into, SignalInputs, SignalOptions, TradeExit};
use crate::error::CoreError;

fn bools<'a>(a: &'a PyReadonlyArray1<'_, bool>, name: &str) -> PyResult<&'a [bool]> {
    a.as_slice().map_err(|_| CoreError::InvalidInput(format!("`{name}` must be a contiguous bool array")).into())
}

/// `(trades, equity, stats)` as handed to Python.
type SignalRun<'py> = (Bound<'py, PyDict>, Bound<'py, PyArray1<f64>>, Bound<'py, PyDict>);

/// Runs entry/exit arrays, filling at the next open; returns
/// `(trades: dict of arrays, equity: array, stats: dict)`. The equity curve
/// is written into `equity` when given (a writable float64 array of one
/// slot per bar, e.g. `numpy.empty(n)`: memory numpy's allocator reuses,
/// no fresh page to fault in), otherwise into a new array.
#[pyfunction]
#[pyo3(name = "from_signals", signature = (open, high, low, close, entries, exits, *, fee, init_cash, size,
                                           sl = None, tp = None, trailing = None, short_entries = None,
                                           short_exits = None, periods_per_year = 365.0, equity = None))]
#[allow(clippy::too_many_arguments)]
pub fn py_from_signals<'py>(
    py: Python<'py>,
    open: PyReadonlyArray1<'_, f64>,
    high: PyReadonlyArray1<'_, f64>,
    low: PyReadonlyArray1<'_, f64>,
    close: PyReadonlyArray1<'_, f64>,
    entries: PyReadonlyArray1<'_, bool>,
    exits: PyReadonlyArray1<'_, bool>,
    fee: f64,
    init_cash: f64,
    size: f64,
    sl: Option<f64>,
    tp: Option<f64>,
    trailing: Option<f64>,
    short_entries: Option<PyReadonlyArray1<'_, bool>>,
    short_exits: Option<PyReadonlyArray1<'_, bool>>,
    periods_per_year: f64,
    equity: Option<Bound<'py, PyArray1<f64>>>,
) -> PyResult<SignalRun<'py>> {
    let inp = SignalInputs {
        open: slice(&open, "open")?,
        high: slice(&high, "high")?,
        low: slice(&low, "low")?,
        close: slice(&close, "close")?,
        entries: bools(&entries, "entries")?,
        exits: bools(&exits, "exits")?,
        short_entries: short_entries.as_ref().map(|a| bools(a, "short_entries")).transpose()?,
        short_exits: short_exits.as_ref().map(|a| bools(a, "short_exits")).transpose()?,
    };
    let opt = SignalOptions { fee, init_cash, size, sl, tp, trailing };
    if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
        return Err(CoreError::param("periods_per_year", format!("must be > 0, got {periods_per_year}")).into());
    }
    let equity = equity.unwrap_or_else(|| PyArray1::<f64>::zeros(py, inp.open.len(), false));
    let (trades_vec, stats) = {
        let mut rw: PyReadwriteArray1<'_, f64> = equity.try_readwrite()?;
        let out = rw
            .as_slice_mut()
            .map_err(|_| CoreError::InvalidInput("`equity` must be a contiguous float64 array".into()))?;
        py.detach(|| {
            from_signals_into(&inp, &opt, out).map(|run| {
                let s = run.stats(periods_per_year);
                (run.trades, s)
            })
        })?
    };
    let t = &trades_vec;
    let trades = PyDict::new(py);
    let col = |f: fn(&crate::backtest::Trade) -> f64| PyArray1::from_iter(py, t.iter().map(f));
    let icol = |f: fn(&crate::backtest::Trade) -> i64| PyArray1::from_iter(py, t.iter().map(f));
    trades.set_item("entry_bar", icol(|x| x.entry_bar as i64))?;
    trades.set_item("exit_bar", icol(|x| x.exit_bar as i64))?;
    trades.set_item("entry_price", col(|x| x.entry_price))?;
    trades.set_item("exit_price", col(|x| x.exit_price))?;
    trades.set_item("quantity", col(|x| x.quantity))?;
    trades.set_item("pnl", col(|x| x.pnl))?;
    trades.set_item("return_pct", col(|x| x.return_pct))?;
    trades.set_item("fees", col(|x| x.fees))?;
    // five interned strings shared by the rows, not one new string a trade;
    // in discriminant order, so `exit as usize` indexes them
    let reasons =
        [TradeExit::Signal, TradeExit::StopLoss, TradeExit::TakeProfit, TradeExit::TrailingStop, TradeExit::EndOfData]
            .map(|e| PyString::intern(py, e.as_str()));
    trades.set_item("exit_reason", PyList::new(py, t.iter().map(|x| &reasons[x.exit as usize]))?)?;
    let st = PyDict::new(py);
    for (name, v) in stats.fields() {
        if name == "trades" {
            st.set_item(name, stats.trades)?;
        } else {
            st.set_item(name, v)?;
        }
    }
    Ok((trades, equity, st))
}
