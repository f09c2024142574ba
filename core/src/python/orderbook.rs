//! Bindings for the local order book: `OrderBook` takes Binance's
//! `[[price_str, qty_str], ...]` levels and returns floats.
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};

use crate::error::CoreError;
use crate::orderbook::replay::PIPELINE_MIN;
use crate::orderbook::ticks::to_f64;
use crate::orderbook::{parse_level, Level, OrderBook, SyncState};

/// The text of a price or quantity that is not a `str` (a `Decimal`, an
/// int): its `str()`.
fn text_of(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(obj.str()?.to_str()?.to_owned())
}

fn parse_pair(side: &str, i: usize, p: &Bound<'_, PyAny>, q: &Bound<'_, PyAny>) -> PyResult<Level> {
    let level = match (p.cast::<PyString>(), q.cast::<PyString>()) {
        (Ok(p), Ok(q)) => parse_level(p.to_str()?, q.to_str()?),
        _ => parse_level(&text_of(p)?, &text_of(q)?),
    };
    level.map_err(|e| match e {
        CoreError::InvalidInput(m) => CoreError::InvalidInput(format!("{side}[{i}]: {m}")).into(),
        other => other.into(),
    })
}

fn bad_shape(side: &str, i: usize) -> PyErr {
    CoreError::InvalidInput(format!("{side}[{i}] must be a [price, quantity] pair")).into()
}

/// Parses a side's levels into `out` (cleared first).
fn parse_side(side: &str, levels: &Bound<'_, PyAny>, out: &mut Vec<Level>) -> PyResult<()> {
    out.clear();
    if let Ok(list) = levels.cast::<PyList>() {
        out.reserve(list.len());
        for (i, item) in list.iter().enumerate() {
            out.push(parse_item(side, i, &item)?);
        }
        return Ok(());
    }
    let iter = levels
        .try_iter()
        .map_err(|_| CoreError::InvalidInput(format!("{side} must be a list of [price, quantity] pairs")))?;
    for (i, item) in iter.enumerate() {
        out.push(parse_item(side, i, &item?)?);
    }
    Ok(())
}

fn parse_item(side: &str, i: usize, item: &Bound<'_, PyAny>) -> PyResult<Level> {
    if let Ok(l) = item.cast::<PyList>() {
        if l.len() != 2 {
            return Err(bad_shape(side, i));
        }
        return parse_pair(side, i, &l.get_item(0)?, &l.get_item(1)?);
    }
    if let Ok(t) = item.cast::<PyTuple>() {
        if t.len() != 2 {
            return Err(bad_shape(side, i));
        }
        return parse_pair(side, i, &t.get_item(0)?, &t.get_item(1)?);
    }
    if item.is_instance_of::<PyString>() || item.len().ok() != Some(2) {
        return Err(bad_shape(side, i));
    }
    parse_pair(side, i, &item.get_item(0)?, &item.get_item(1)?)
}

fn update_id(name: &str, v: i64) -> Result<u64, CoreError> {
    u64::try_from(v).map_err(|_| CoreError::param(name, format!("must be >= 0, got {v}")))
}

fn count(name: &str, v: i64) -> Result<usize, CoreError> {
    match usize::try_from(v) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(CoreError::param(name, format!("must be >= 1, got {v}"))),
    }
}

fn level_f64((p, q): Level) -> (f64, f64) {
    (to_f64(p), to_f64(q))
}

/// [`OrderBook::apply_message`] on a Python `bytes`, `str` or `bytearray`
/// (borrowed, not copied, but for a `bytearray`): the book's result inside,
/// a Python error (a `str` that is not valid UTF-8) outside.
fn apply_one(book: &mut OrderBook, message: &Bound<'_, PyAny>) -> PyResult<Result<bool, CoreError>> {
    if let Ok(b) = message.cast::<PyBytes>() {
        return Ok(book.apply_message(b.as_bytes()));
    }
    if let Ok(s) = message.cast::<PyString>() {
        return Ok(book.apply_message(s.to_str()?.as_bytes()));
    }
    if let Ok(b) = message.cast::<PyByteArray>() {
        return Ok(book.apply_message(&b.to_vec()));
    }
    Ok(Err(CoreError::InvalidInput(format!("message must be bytes or str, got {}", message.get_type().name()?))))
}

/// An error of the `i`-th message of a batch: the same kind, the index in
/// front of its text.
fn at_index(i: usize, e: CoreError) -> CoreError {
    match e {
        CoreError::BookGap(m) => CoreError::BookGap(format!("messages[{i}]: {m}")),
        CoreError::InvalidInput(m) => CoreError::InvalidInput(format!("messages[{i}]: {m}")),
        other => other,
    }
}

/// Messages borrowed per pass of [`PyOrderBook::py_apply_messages`] (their
/// references held, the GIL released while they are applied).
const REPLAY_CHUNK: usize = 1 << 15;

/// A run of messages taken from a list or an iterable: the objects (a
/// strong reference each), the `bytearray`s' copies, and what stopped the
/// run early (an item that is not a message, an iterator's exception).
#[derive(Default)]
struct Chunk<'py> {
    items: Vec<Bound<'py, PyAny>>,
    copies: Vec<Vec<u8>>,
    stop: Option<Stop>,
}

/// What ends a run of messages before its end: a Python error raised as it
/// is (an iterator's, an `str` without its UTF-8, as `apply_message` raises
/// it) or a message error raised with its index.
enum Stop {
    Py(PyErr),
    Core(CoreError),
}

impl<'py> Chunk<'py> {
    /// Takes items until `source` ends or an item is neither `bytes`, `str`
    /// nor `bytearray` (or an `str` without its UTF-8): that one's error is
    /// kept in `stop`, raised after the items before it are applied.
    fn take(&mut self, source: impl Iterator<Item = PyResult<Bound<'py, PyAny>>>) {
        self.items.clear();
        self.copies.clear();
        self.stop = None;
        for item in source {
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    self.stop = Some(Stop::Py(e));
                    return;
                }
            };
            if item.cast::<PyBytes>().is_ok() {
            } else if let Ok(s) = item.cast::<PyString>() {
                if let Err(e) = s.to_str() {
                    self.stop = Some(Stop::Py(e));
                    return;
                }
            } else if let Ok(b) = item.cast::<PyByteArray>() {
                self.copies.push(b.to_vec());
            } else {
                let kind = item.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string());
                self.stop =
                    Some(Stop::Core(CoreError::InvalidInput(format!("message must be bytes or str, got {kind}"))));
                return;
            }
            self.items.push(item);
        }
    }

    /// The messages' bytes, borrowed (the `bytearray`s' from their copies).
    fn slices(&self) -> Vec<&[u8]> {
        let mut copies = self.copies.iter();
        self.items
            .iter()
            .map(|item| {
                if let Ok(b) = item.cast::<PyBytes>() {
                    b.as_bytes()
                } else if let Ok(s) = item.cast::<PyString>() {
                    s.to_str().map_or(&[][..], str::as_bytes)
                } else {
                    copies.next().map_or(&[][..], Vec::as_slice)
                }
            })
            .collect()
    }
}

/// A local order book kept by Binance's documented procedure.
#[pyclass(module = "avd._core", name = "OrderBook")]
pub struct PyOrderBook {
    book: OrderBook,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

#[pymethods]
impl PyOrderBook {
    /// ``window``: ticks of the dense ladder kept around the touch on each
    /// side (levels beyond it are kept too, in a sorted map; the book is
    /// whole and exact whatever the window).
    #[new]
    #[pyo3(signature = (symbol, window=65536))]
    fn py_new(symbol: &str, window: i64) -> PyResult<Self> {
        let window = count("window", window)?;
        Ok(Self { book: OrderBook::with_window(symbol, window), bids: Vec::new(), asks: Vec::new() })
    }

    /// Replaces the book with a REST snapshot (``GET /api/v3/depth``):
    /// ``lastUpdateId`` and Binance's ``[[price_str, qty_str], ...]`` levels.
    /// The next applied event must straddle it:
    /// ``U <= lastUpdateId + 1 <= u``.
    #[pyo3(name = "apply_snapshot")]
    fn py_apply_snapshot(
        &mut self,
        last_update_id: i64,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let id = update_id("last_update_id", last_update_id)?;
        parse_side("bids", bids, &mut self.bids)?;
        parse_side("asks", asks, &mut self.asks)?;
        self.book.apply_snapshot(id, &self.bids, &self.asks);
        Ok(())
    }

    /// Applies one ``depthUpdate`` (``U``, ``u``, ``b``, ``a``): True when
    /// applied, False when stale (``u <= last_update_id``). The first applied
    /// event after a snapshot must straddle it (``U <= lastUpdateId + 1 <=
    /// u``), later ones follow (``U == previous u + 1``); otherwise
    /// ``BookGapError`` is raised, nothing is applied, and diffs are refused
    /// until a new snapshot. Quantities are absolute; 0 removes the level.
    #[pyo3(name = "apply_diff")]
    fn py_apply_diff(
        &mut self,
        first_update_id: i64,
        final_update_id: i64,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let first = update_id("first_update_id", first_update_id)?;
        let last = update_id("final_update_id", final_update_id)?;
        parse_side("bids", bids, &mut self.bids)?;
        parse_side("asks", asks, &mut self.asks)?;
        Ok(self.book.apply_diff(first, last, &self.bids, &self.asks)?)
    }

    /// Applies one raw websocket depth message (``bytes`` or ``str``): the
    /// combined-stream JSON ``{"stream": ..., "data": {"e": "depthUpdate",
    /// "U": .., "u": .., "b": [...], "a": [...]}}`` or the bare ``data``
    /// object, parsed in Rust. True when applied, False when stale;
    /// ``BookGapError`` on a gap, as :meth:`apply_diff`; ``ValueError``
    /// (``InvalidInputError``) for a message that is not a depth event.
    #[pyo3(name = "apply_message")]
    fn py_apply_message(&mut self, message: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(apply_one(&mut self.book, message)??)
    }

    /// Applies raw websocket depth messages in order (a list or any
    /// iterable of ``bytes`` or ``str``), each exactly as
    /// :meth:`apply_message`, in one call (for replays): returns how many
    /// were applied (stale ones are not counted). The first error is raised
    /// with the message's index (``messages[i]: ...``) and the same type as
    /// :meth:`apply_message` raises; the messages before it stay applied,
    /// none after it. From 256 messages on, the GIL is released and the
    /// messages are parsed on two threads while this one applies them in
    /// order (``bytes`` and ``str`` borrowed, not copied).
    #[pyo3(name = "apply_messages")]
    fn py_apply_messages(&mut self, py: Python<'_>, messages: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mut applied = 0;
        let mut chunk = Chunk::default();
        if let Ok(list) = messages.cast::<PyList>() {
            let n = list.len();
            let mut start = 0;
            while start < n {
                let end = n.min(start + REPLAY_CHUNK);
                // The items are held here (a strong reference each): the
                // list may change once the GIL is released.
                chunk.take((start..end).map(|i| list.get_item(i)));
                applied += self.replay(py, &mut chunk, start)?;
                start = end;
            }
        } else {
            let mut iter = messages
                .try_iter()
                .map_err(|_| CoreError::InvalidInput("messages must be an iterable of bytes or str".into()))?;
            let mut start = 0;
            loop {
                chunk.take(iter.by_ref().take(REPLAY_CHUNK));
                if chunk.items.is_empty() && chunk.stop.is_none() {
                    break;
                }
                applied += self.replay(py, &mut chunk, start)?;
                start += chunk.items.len();
            }
        }
        Ok(applied)
    }

    /// The symbol.
    #[getter(symbol)]
    fn py_symbol(&self) -> &str {
        self.book.symbol()
    }

    /// The snapshot's lastUpdateId, then the `u` of each applied event.
    #[getter(last_update_id)]
    fn py_last_update_id(&self) -> u64 {
        self.book.last_update_id()
    }

    /// ``"no_snapshot"``, ``"awaiting_first"``, ``"synced"`` or ``"out_of_sync"``.
    #[getter(state)]
    fn py_state(&self) -> &'static str {
        match self.book.state() {
            SyncState::NoSnapshot => "no_snapshot",
            SyncState::AwaitingFirst => "awaiting_first",
            SyncState::Synced => "synced",
            SyncState::OutOfSync => "out_of_sync",
        }
    }

    /// Gaps detected since the book was created.
    #[getter(gaps)]
    fn py_gaps(&self) -> u64 {
        self.book.gaps()
    }

    /// Snapshots applied since the book was created.
    #[getter(snapshots)]
    fn py_snapshots(&self) -> u64 {
        self.book.snapshots()
    }

    /// Number of bid levels.
    #[getter(bid_count)]
    fn py_bid_count(&self) -> usize {
        self.book.bids().len()
    }

    /// Number of ask levels.
    #[getter(ask_count)]
    fn py_ask_count(&self) -> usize {
        self.book.asks().len()
    }

    /// ``(price, qty)`` of the best bid, or None.
    #[pyo3(name = "best_bid")]
    fn py_best_bid(&self) -> Option<(f64, f64)> {
        self.book.bids().best().map(level_f64)
    }

    /// ``(price, qty)`` of the best ask, or None.
    #[pyo3(name = "best_ask")]
    fn py_best_ask(&self) -> Option<(f64, f64)> {
        self.book.asks().best().map(level_f64)
    }

    /// The best `n` bid levels (all with None), best first.
    #[pyo3(name = "bids", signature = (n=None))]
    fn py_bids(&self, n: Option<i64>) -> PyResult<Vec<(f64, f64)>> {
        let n = n.map_or(Ok(usize::MAX), |v| count("n", v))?;
        Ok(self.book.bids().iter_best().take(n).map(level_f64).collect())
    }

    /// The best `n` ask levels (all with None), best first.
    #[pyo3(name = "asks", signature = (n=None))]
    fn py_asks(&self, n: Option<i64>) -> PyResult<Vec<(f64, f64)>> {
        let n = n.map_or(Ok(usize::MAX), |v| count("n", v))?;
        Ok(self.book.asks().iter_best().take(n).map(level_f64).collect())
    }

    /// Best ask minus best bid, or None.
    #[pyo3(name = "spread")]
    fn py_spread(&self) -> Option<f64> {
        self.book.spread()
    }

    /// ``(best bid + best ask) / 2``, or None.
    #[pyo3(name = "mid")]
    fn py_mid(&self) -> Option<f64> {
        self.book.mid()
    }

    /// Quantity imbalance of the best `n` levels, in [-1, 1], or None.
    #[pyo3(name = "imbalance", signature = (n=10))]
    fn py_imbalance(&self, n: i64) -> PyResult<Option<f64>> {
        Ok(self.book.imbalance(count("n", n)?)?)
    }

    /// The size-weighted mid at the top of the book, or None.
    #[pyo3(name = "microprice")]
    fn py_microprice(&self) -> Option<f64> {
        self.book.microprice()
    }

    /// ``(bid qty, ask qty)`` within `bps` basis points of the mid.
    #[pyo3(name = "depth")]
    fn py_depth(&self, bps: f64) -> PyResult<(f64, f64)> {
        Ok(self.book.depth(bps)?)
    }

    /// Order-flow imbalance accumulated since the last ``take_ofi()``.
    #[getter(ofi)]
    fn py_ofi(&self) -> f64 {
        crate::orderbook::ticks::signed_to_f64(self.book.ofi().sum)
    }

    /// Applied events in the accumulated order-flow imbalance.
    #[getter(ofi_events)]
    fn py_ofi_events(&self) -> u64 {
        self.book.ofi().events
    }

    /// Returns the accumulated order-flow imbalance and resets it to 0.
    #[pyo3(name = "take_ofi")]
    fn py_take_ofi(&mut self) -> f64 {
        crate::orderbook::ticks::signed_to_f64(self.book.take_ofi().sum)
    }

    fn __repr__(&self) -> String {
        format!(
            "OrderBook({:?}, state={}, last_update_id={}, bids={}, asks={})",
            self.book.symbol(),
            self.py_state(),
            self.book.last_update_id(),
            self.book.bids().len(),
            self.book.asks().len()
        )
    }
}

impl PyOrderBook {
    /// Applies a chunk whose first message is `messages[start]`, the GIL
    /// released (the chunk's objects are held, their bytes borrowed), then
    /// raises what stopped the chunk early, if nothing failed before.
    fn replay(&mut self, py: Python<'_>, chunk: &mut Chunk<'_>, start: usize) -> PyResult<usize> {
        let slices = chunk.slices();
        let book = &mut self.book;
        let result = if slices.len() < PIPELINE_MIN {
            book.apply_messages(&slices)
        } else {
            py.detach(|| book.apply_messages(&slices))
        };
        drop(slices);
        match (result, chunk.stop.take()) {
            (Ok(applied), None) => Ok(applied),
            (Ok(_), Some(Stop::Py(e))) => Err(e),
            (Ok(_), Some(Stop::Core(e))) => Err(at_index(start + chunk.items.len(), e).into()),
            (Err((i, e)), _) => Err(at_index(start + i, e).into()),
        }
    }
}
