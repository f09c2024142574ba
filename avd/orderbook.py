"""A local order book kept by Binance's documented procedure: ``avd.orderbook``.

:class:`OrderBook` is a Rust class (``avd._core``): prices and quantities are
parsed from Binance's decimal strings into exact integers of 10⁻⁸ (no float
keys, no rounding); floats out are the nearest double of the decimal string,
what ``float("61837.63")`` returns.

Keeping a book in sync (Binance's "How to manage a local order book
correctly"):

1. open ``<symbol>@depth@100ms`` and **buffer** the events;
2. fetch the REST snapshot (``GET /api/v3/depth?limit=1000``, python-binance
   ``get_order_book(symbol=..., limit=1000)``) and pass it to
   :meth:`OrderBook.apply_snapshot`;
3. pass every buffered event, then every new one, to
   :meth:`OrderBook.apply_diff` in order. Events with ``u <= lastUpdateId``
   are stale (it returns ``False``); the first applied event must
   **straddle** the snapshot, ``U <= lastUpdateId + 1 <= u``; every later
   one must follow the previous, ``U == previous u + 1``;
4. an event with ``U > last_update_id + 1`` is a gap: nothing is applied,
   :class:`~avd.exceptions.BookGapError` is raised, and the book refuses
   diffs until a fresh snapshot is applied (go back to step 2). Before any
   snapshot ``apply_diff`` raises ``BookGapError`` too.

Raw messages: :meth:`OrderBook.apply_message` takes the websocket message
as received (``bytes`` or ``str``, the combined-stream JSON
``{"stream": ..., "data": {"e": "depthUpdate", "U": .., "u": .., "b": [...],
"a": [...]}}`` or the bare ``data`` object), parses it in Rust (Binance's
compact layout by a hand scanner, anything else by ``serde_json``) and
applies it exactly as :meth:`OrderBook.apply_diff` would (same return value,
same ``BookGapError``); a message that is not a depth event raises
``ValueError`` and changes nothing. For replays,
:meth:`OrderBook.apply_messages` applies a list (or any iterable) of them in
one call and returns how many were applied; the first error is raised with
its index (``messages[i]: ...``), the messages before it staying applied.

Storage: each side is a ladder indexed by tick (the tick is the greatest
common divisor of the prices seen) with a dense window of ``window`` ticks
(``OrderBook(symbol, window=65536)``, 8 bytes a tick) that follows the touch,
and a hash map for the levels beyond it (put in order when iterated past the
window): every level is kept, whatever the window, so the book is whole and
exact; the window only decides what is fast. It moves (one pass over it)
when the touch has travelled half of it.

Quantities are absolute and ``0`` removes the level. An event overlapping
the book (``U <= last_update_id < u``) is applied: Binance's update
procedure ignores ``u < id`` and resyncs on ``U > id + 1`` only.

Analytics
---------
* ``spread()`` = best ask - best bid; ``mid()`` = (best bid + best ask) / 2;
* ``imbalance(n)`` = (Σ bid qty - Σ ask qty) / (Σ bid qty + Σ ask qty) over
  the best ``n`` levels of each side, in [-1, 1];
* ``microprice()`` = (bid·ask_qty + ask·bid_qty) / (bid_qty + ask_qty) at
  the top of the book;
* ``depth(bps)`` = (bid qty, ask qty) resting within ±``bps`` basis points of
  the mid (``|p - mid|·10⁴ ≤ bps·mid``, inclusive);
* ``ofi`` / ``take_ofi()``: order-flow imbalance (Cont, Kukanov & Stoikov
  2014) summed over the applied events since the last ``take_ofi()``: for
  each event, with the best bid ``(Pᵇ, qᵇ)`` and ask ``(Pᵃ, qᵃ)`` before
  (``n-1``) and after (``n``) it,
  ``eₙ = qᵇₙ·1{Pᵇₙ ≥ Pᵇₙ₋₁} - qᵇₙ₋₁·1{Pᵇₙ ≤ Pᵇₙ₋₁} - qᵃₙ·1{Pᵃₙ ≤ Pᵃₙ₋₁}
  + qᵃₙ₋₁·1{Pᵃₙ ≥ Pᵃₙ₋₁}`` (in base quantity; a snapshot starts a new
  baseline).

``spread``, ``mid``, ``microprice``, ``best_bid`` and ``best_ask`` return
``None`` while a side is empty; ``imbalance`` when both are.

Errors: an unparsable price or quantity, a negative quantity, more than 8
decimals, a level that is not a ``[price, quantity]`` pair, ``U > u``, or
``n < 1`` / ``bps < 0`` raise :class:`ValueError` (as
:class:`avd.exceptions.InvalidInputError` / ``InvalidParameterError``)
naming the side, index and text; nothing is applied.
"""

from __future__ import annotations

from avd._core import OrderBook
from avd.exceptions import BookGapError

__all__ = ["BookGapError", "OrderBook"]
