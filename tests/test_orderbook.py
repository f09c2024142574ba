"""The local order book against a reference written from Binance's documentation.

The reference (:class:`RefBook`) is plain Python over ``Decimal`` keys and
follows "How to manage a local order book correctly" step by step; the real
recording ``ticks/BTCUSDT-spot-ws-2024-08-08.txt.gz`` (≈11 minutes of
``btcusdt@depth@100ms`` plus one REST snapshot that arrives after the first
diffs) drives both books.
"""

from __future__ import annotations

import bisect
import gzip
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from avd.exceptions import AvdError, BookGapError
from avd.orderbook import OrderBook

RECORDING = "ticks/BTCUSDT-spot-ws-2024-08-08.txt.gz"
TOP = 20


@dataclass(frozen=True)
class Diff:
    first: int  # U
    final: int  # u
    bids: list[list[str]]
    asks: list[list[str]]


@dataclass(frozen=True)
class Recording:
    before: list[Diff]  # depth events received before the snapshot line
    after: list[Diff]
    snapshot: dict[str, Any]

    @property
    def diffs(self) -> list[Diff]:
        return self.before + self.after


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> Recording:
    before: list[Diff] = []
    after: list[Diff] = []
    snapshot: dict[str, Any] | None = None
    with gzip.open(shared_data / RECORDING, "rt") as f:
        for line in f:
            msg = json.loads(line.split(" ", 1)[1])
            if "lastUpdateId" in msg:
                snapshot = msg
                continue
            if msg["stream"].endswith("@depth@100ms"):
                d = msg["data"]
                (before if snapshot is None else after).append(Diff(d["U"], d["u"], d["b"], d["a"]))
    assert snapshot is not None
    return Recording(before, after, snapshot)


@dataclass
class RefSide:
    """Levels as ``{Decimal price: Decimal qty}`` plus the prices kept sorted."""

    descending: bool
    qty: dict[Decimal, Decimal] = field(default_factory=dict)
    keys: list[Decimal] = field(default_factory=list)  # ascending

    def set(self, price: str, qty: str) -> None:
        p, q = Decimal(price), Decimal(qty)
        if q == 0:
            if p in self.qty:
                del self.qty[p]
                self.keys.pop(bisect.bisect_left(self.keys, p))
            return
        if p not in self.qty:
            bisect.insort(self.keys, p)
        self.qty[p] = q

    def top(self, n: int) -> list[tuple[Decimal, Decimal]]:
        ks = self.keys[::-1][:n] if self.descending else self.keys[:n]
        return [(p, self.qty[p]) for p in ks]


class RefBook:
    """Binance's procedure, as documented, over Decimal levels."""

    def __init__(self, last_update_id: int, bids: list[list[str]], asks: list[list[str]]) -> None:
        self.bids, self.asks = RefSide(descending=True), RefSide(descending=False)
        for p, q in bids:
            self.bids.set(p, q)
        for p, q in asks:
            self.asks.set(p, q)
        self.last = last_update_id
        self.first_applied = False

    def apply(self, d: Diff) -> str:
        # "discard any event where u is <= lastUpdateId of the snapshot"
        if d.final <= self.last:
            return "stale"
        if not self.first_applied:
            # "the first processed event should have U <= lastUpdateId+1 AND u >= lastUpdateId+1"
            if not d.first <= self.last + 1 <= d.final:
                return "gap"
        elif d.first != self.last + 1:
            # "each new event's U should be equal to the previous event's u+1"
            return "gap"
        for p, q in d.bids:
            self.bids.set(p, q)
        for p, q in d.asks:
            self.asks.set(p, q)
        self.last = d.final
        self.first_applied = True
        return "applied"

    def snapshot(self) -> tuple[list[list[str]], list[list[str]]]:
        """The whole book as Binance's ``[[price, qty], ...]`` strings."""
        side = lambda s: [[str(p), str(q)] for p, q in s.top(len(s.keys))]  # noqa: E731
        return side(self.bids), side(self.asks)


def floats(levels: list[tuple[Decimal, Decimal]]) -> list[tuple[float, float]]:
    return [(float(p), float(q)) for p, q in levels]


def assert_same_top(book: OrderBook, ref: RefBook, where: str, n: int = TOP) -> None:
    assert book.bids(n) == floats(ref.bids.top(n)), where
    assert book.asks(n) == floats(ref.asks.top(n)), where


# -- the real recording ----------------------------------------------------------


def test_recording_shape_matches_the_data_readme(recording: Recording) -> None:
    assert len(recording.diffs) == 6495
    assert recording.snapshot["lastUpdateId"] == 50093239218
    assert len(recording.before) >= 1
    # the stream itself is gap-free
    for prev, d in zip(recording.diffs, recording.diffs[1:], strict=False):
        assert d.first == prev.final + 1


def test_book_follows_the_real_recording_top_20_after_every_event(recording: Recording) -> None:
    snap = recording.snapshot
    ref = RefBook(snap["lastUpdateId"], snap["bids"], snap["asks"])
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    assert book.state == "awaiting_first"
    assert_same_top(book, ref, "snapshot")
    applied = stale = 0
    for i, d in enumerate(recording.diffs):  # the buffered ones first, in file order
        expected = ref.apply(d)
        assert expected != "gap", f"the reference found a gap at event {i}"
        got = book.apply_diff(d.first, d.final, d.bids, d.asks)
        assert got == (expected == "applied"), f"event {i} (U={d.first}, u={d.final})"
        applied += got
        stale += not got
        assert book.last_update_id == ref.last
        assert_same_top(book, ref, f"after event {i}")
    # the straddling event is line 6 of the file: U=50093239208, u=50093239224
    assert stale == sum(d.final <= snap["lastUpdateId"] for d in recording.diffs) >= 1
    assert applied == len(recording.diffs) - stale
    assert book.gaps == 0
    assert book.state == "synced"
    # the whole book, not only the top
    assert book.bid_count == len(ref.bids.keys)
    assert book.ask_count == len(ref.asks.keys)
    assert book.bids() == floats(ref.bids.top(book.bid_count))
    assert book.asks() == floats(ref.asks.top(book.ask_count))


@pytest.fixture(scope="module")
def raw_messages(shared_data: Path) -> list[bytes]:
    """The recording's depth messages as received: combined-stream JSON bytes."""
    with gzip.open(shared_data / RECORDING, "rb") as f:
        return [line.split(b" ", 1)[1].rstrip(b"\n") for line in f if b"@depth@100ms" in line[:80]]


@pytest.mark.parametrize("window", [65536, 64, 1000])
def test_raw_messages_follow_the_real_recording_whole_book_after_every_event(
    recording: Recording, raw_messages: list[bytes], window: int
) -> None:
    # apply_message on the bytes as received (combined and bare), against the
    # reference; small windows make the ladder move its window all the time
    snap = recording.snapshot
    ref = RefBook(snap["lastUpdateId"], snap["bids"], snap["asks"])
    book = OrderBook("BTCUSDT", window=window)
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    assert len(raw_messages) == len(recording.diffs)
    for i, (d, raw) in enumerate(zip(recording.diffs, raw_messages, strict=True)):
        expected = ref.apply(d)
        message = raw if i % 2 else json.dumps(json.loads(raw)["data"]).encode()
        assert book.apply_message(message) == (expected == "applied"), f"event {i}"
        assert book.last_update_id == ref.last
        assert_same_top(book, ref, f"after event {i}")
    assert book.gaps == 0
    assert book.bids() == floats(ref.bids.top(len(ref.bids.keys)))
    assert book.asks() == floats(ref.asks.top(len(ref.asks.keys)))


def test_raw_message_gap_and_bad_messages(recording: Recording, raw_messages: list[bytes]) -> None:
    snap = recording.snapshot
    book = OrderBook("BTCUSDT")
    with pytest.raises(BookGapError, match="no snapshot"):
        book.apply_message(raw_messages[0])
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    for raw in raw_messages[:100]:
        book.apply_message(raw)
    before = (book.bids(), book.asks(), book.last_update_id)
    for bad, match in [
        (b"{not json", "depth message"),
        (b'{"e":"aggTrade","U":1,"u":2}', "aggTrade"),
        (raw_messages[100].replace(b'"b":[["', b'"b":[["x'), r"b\[0\]"),
        ("[]", "depth message"),
    ]:
        with pytest.raises(ValueError, match=match):
            book.apply_message(bad)
    with pytest.raises(ValueError, match="bytes or str"):
        book.apply_message(123)  # type: ignore[arg-type]
    assert (book.bids(), book.asks(), book.last_update_id) == before  # nothing applied
    assert book.apply_message(raw_messages[50]) is False  # stale
    with pytest.raises(BookGapError, match="expected U"):
        book.apply_message(raw_messages[101])  # event 100 dropped
    assert book.gaps == 1 and book.state == "out_of_sync"


def test_apply_messages_follows_the_real_recording_and_names_the_failing_message(
    recording: Recording, raw_messages: list[bytes]
) -> None:
    # the batch entry point in chunks (lists, a tuple, a generator, str)
    # against the reference; the count is the reference's applied events
    snap = recording.snapshot
    ref = RefBook(snap["lastUpdateId"], snap["bids"], snap["asks"])
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    chunks = [(0, 1), (1, 700), (700, 2000), (2000, len(raw_messages))]
    for k, (a, b) in enumerate(chunks):
        want = sum(ref.apply(d) == "applied" for d in recording.diffs[a:b])
        part = raw_messages[a:b]
        batch: object = [part, tuple(part), (m for m in part), [m.decode() for m in part]][k]
        assert book.apply_messages(batch) == want  # type: ignore[arg-type]
        assert book.last_update_id == ref.last
        assert_same_top(book, ref, f"after chunk {k}")
    assert book.bids() == floats(ref.bids.top(len(ref.bids.keys)))
    assert book.asks() == floats(ref.asks.top(len(ref.asks.keys)))
    assert book.apply_messages([]) == 0

    # errors: the index in the message, the same exception types, the
    # messages before the failing one applied, none after it
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    ref = RefBook(snap["lastUpdateId"], snap["bids"], snap["asks"])
    for d in recording.diffs[:10]:
        ref.apply(d)
    with pytest.raises(BookGapError, match=r"messages\[10\]: .*expected U"):
        book.apply_messages(raw_messages[:10] + raw_messages[11:20])  # event 10 dropped
    assert book.last_update_id == ref.last
    assert book.gaps == 1
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    with pytest.raises(ValueError, match=r"messages\[2\]: .*depth message"):
        book.apply_messages([raw_messages[0], raw_messages[1], b"{not json", raw_messages[2]])
    with pytest.raises(ValueError, match=r"messages\[1\]: .*bytes or str"):
        book.apply_messages([raw_messages[2], 7])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="iterable"):
        book.apply_messages(5)  # type: ignore[arg-type]


def test_first_applied_event_is_the_one_straddling_the_snapshot(recording: Recording) -> None:
    snap = recording.snapshot
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    results = [book.apply_diff(d.first, d.final, d.bids, d.asks) for d in recording.diffs[:8]]
    first = results.index(True)
    d = recording.diffs[first]
    assert (d.first, d.final) == (50093239208, 50093239224)
    assert d.first <= snap["lastUpdateId"] + 1 <= d.final
    assert not any(results[:first]) and all(results[first:])


def _ref_at(recording: Recording, upto: int) -> RefBook:
    """The reference after applying events ``[0, upto)`` (synced from the real snapshot)."""
    snap = recording.snapshot
    ref = RefBook(snap["lastUpdateId"], snap["bids"], snap["asks"])
    for d in recording.diffs[:upto]:
        assert ref.apply(d) != "gap"
    return ref


def _wide_event(recording: Recording, start: int) -> int:
    """Index of the first event at or after ``start`` spanning at least 3 update ids."""
    return next(
        i
        for i in range(start, len(recording.diffs))
        if recording.diffs[i].final - recording.diffs[i].first >= 2
    )


@pytest.mark.parametrize("where", ["U-1", "U", "inside", "u-1"])
def test_made_up_snapshot_inside_an_event_range_exercises_the_straddle_rule(
    recording: Recording, where: str
) -> None:
    j = _wide_event(recording, 500)
    d = recording.diffs[j]
    ref = _ref_at(recording, j)  # the book at id u_{j-1} = U_j - 1
    last_id = {
        "U-1": d.first - 1,
        "U": d.first,
        "inside": (d.first + d.final) // 2,
        "u-1": d.final - 1,
    }[where]
    assert d.first <= last_id + 1 <= d.final
    bids, asks = ref.snapshot()
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(last_id, bids, asks)
    # events already covered by the snapshot are stale
    prev = recording.diffs[j - 1]
    assert book.apply_diff(prev.first, prev.final, prev.bids, prev.asks) is False
    assert book.state == "awaiting_first"
    # the straddling event applies, and the book follows the reference from there
    for i, e in enumerate(recording.diffs[j : j + 300], start=j):
        assert ref.apply(e) == "applied"
        assert book.apply_diff(e.first, e.final, e.bids, e.asks) is True
        assert_same_top(book, ref, f"event {i}")
    assert book.gaps == 0


def test_snapshot_ending_at_an_event_boundary_starts_with_the_next_event(
    recording: Recording,
) -> None:
    j = 300
    ref = _ref_at(recording, j + 1)
    bids, asks = ref.snapshot()
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(recording.diffs[j].final, bids, asks)
    d = recording.diffs[j]
    assert book.apply_diff(d.first, d.final, d.bids, d.asks) is False  # u == lastUpdateId: stale
    nxt = recording.diffs[j + 1]
    assert nxt.first == book.last_update_id + 1
    assert book.apply_diff(nxt.first, nxt.final, nxt.bids, nxt.asks) is True
    assert ref.apply(nxt) == "applied"
    assert_same_top(book, ref, "after the next event")


def test_snapshot_older_than_the_first_event_is_a_gap(recording: Recording) -> None:
    # Binance: "if the snapshot's lastUpdateId is below the first event's U, fetch it again"
    j = 400
    d = recording.diffs[j]
    bids, asks = _ref_at(recording, j).snapshot()
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(d.first - 2, bids, asks)
    with pytest.raises(BookGapError, match=f"U <= {d.first - 1} <= u"):
        book.apply_diff(d.first, d.final, d.bids, d.asks)
    assert book.gaps == 1
    assert book.state == "out_of_sync"


def test_dropped_event_is_detected_and_a_resync_recovers(recording: Recording) -> None:
    snap = recording.snapshot
    diffs = recording.diffs
    drop = 2000
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    for d in diffs[:drop]:
        book.apply_diff(d.first, d.final, d.bids, d.asks)
    before = (book.bids(TOP), book.asks(TOP), book.last_update_id)
    nxt = diffs[drop + 1]
    with pytest.raises(BookGapError, match=f"expected U = {diffs[drop].first}") as err:
        book.apply_diff(nxt.first, nxt.final, nxt.bids, nxt.asks)
    assert not isinstance(err.value, ValueError)
    assert isinstance(err.value, AvdError)
    assert book.gaps == 1
    assert book.state == "out_of_sync"
    assert (book.bids(TOP), book.asks(TOP), book.last_update_id) == before  # nothing applied
    # the book refuses diffs until a new snapshot, even ones that would follow
    with pytest.raises(BookGapError, match="new snapshot"):
        book.apply_diff(diffs[drop].first, diffs[drop].final, diffs[drop].bids, diffs[drop].asks)
    # resync: a made-up snapshot of the reference book a few events later, whose
    # lastUpdateId falls inside the next event's range; replay continues from the buffer
    k = _wide_event(recording, drop + 5)
    ref = _ref_at(recording, k)
    bids, asks = ref.snapshot()
    last_id = diffs[k].first + 1
    book.apply_snapshot(last_id, bids, asks)
    assert book.state == "awaiting_first"
    assert book.snapshots == 2
    for i, d in enumerate(diffs[drop + 1 :], start=drop + 1):
        got = book.apply_diff(d.first, d.final, d.bids, d.asks)
        assert got == (i >= k)
        if got:
            assert ref.apply(d) == "applied"
            assert_same_top(book, ref, f"event {i}")
    assert book.gaps == 1
    assert book.last_update_id == diffs[-1].final


def test_diff_before_any_snapshot_is_refused() -> None:
    book = OrderBook("BTCUSDT")
    assert book.state == "no_snapshot"
    with pytest.raises(BookGapError, match="no snapshot"):
        book.apply_diff(1, 2, [["100", "1"]], [])
    assert book.gaps == 0
    assert book.best_bid() is None


# -- hand-worked books -------------------------------------------------------------


@pytest.fixture
def hand_book() -> OrderBook:
    # bids 99.5 x 3, 99 x 5, 98 x 2; asks 100.5 x 1, 101 x 4, 102 x 6 (mid 100)
    book = OrderBook("TEST")
    book.apply_snapshot(
        10,
        [["99.50000000", "3.00000000"], ["99.00000000", "5"], ["98", "2"], ["97", "0.00000000"]],
        [["100.5", "1"], ["101", "4"], ["102", "6"]],
    )
    return book


def test_hand_worked_top_spread_mid(hand_book: OrderBook) -> None:
    assert hand_book.best_bid() == (99.5, 3.0)
    assert hand_book.best_ask() == (100.5, 1.0)
    assert hand_book.bids(2) == [(99.5, 3.0), (99.0, 5.0)]
    assert hand_book.asks() == [(100.5, 1.0), (101.0, 4.0), (102.0, 6.0)]
    assert hand_book.bid_count == 3  # the zero level is not a level
    assert hand_book.spread() == 1.0
    assert hand_book.mid() == 100.0


def test_hand_worked_imbalance_microprice_depth(hand_book: OrderBook) -> None:
    assert hand_book.imbalance(1) == (3 - 1) / (3 + 1)
    assert hand_book.imbalance(2) == pytest.approx((8 - 5) / (8 + 5), rel=1e-15)
    assert hand_book.imbalance(10) == pytest.approx((10 - 11) / 21, rel=1e-15)
    # (99.5 * 1 + 100.5 * 3) / 4 = 100.25: leans to the ask, which has less quantity
    assert hand_book.microprice() == 100.25
    # 100 bps of mid 100 = 1.0: bids >= 99, asks <= 101 (bounds inclusive)
    assert hand_book.depth(100) == (8.0, 5.0)
    assert hand_book.depth(50) == (3.0, 1.0)
    assert hand_book.depth(49.9) == (0.0, 0.0)
    assert hand_book.depth(200) == (10.0, 11.0)


def test_spread_and_mid_are_exact_decimals() -> None:
    book = OrderBook("X")
    book.apply_snapshot(1, [["0.1", "1"]], [["0.3", "1"]])
    assert book.spread() == float(Decimal("0.3") - Decimal("0.1")) == 0.2
    assert book.mid() == 0.2
    book.apply_snapshot(2, [["61837.63", "1"]], [["61837.64", "1"]])
    assert book.spread() == 0.01
    assert book.mid() == float(Decimal("61837.635"))


def test_order_flow_imbalance_by_hand() -> None:
    book = OrderBook("X")
    book.apply_snapshot(100, [["100", "5"], ["99", "8"]], [["101", "4"], ["102", "6"]])
    assert (book.ofi, book.ofi_events) == (0.0, 0)
    book.apply_diff(101, 101, [["100", "7"]], [])  # bid grows 5 -> 7: +7 - 5
    assert book.ofi == 2.0
    book.apply_diff(102, 103, [], [["101", "0"]])  # ask consumed, best ask up to 102: +4
    assert book.ofi == 6.0
    book.apply_diff(
        104, 104, [["100", "0"]], [["100.5", "2"]]
    )  # bid consumed (-7), ask steps down (-2)
    assert book.ofi == -3.0
    assert book.ofi_events == 3
    assert book.take_ofi() == -3.0
    assert (book.ofi, book.ofi_events) == (0.0, 0)
    book.apply_diff(100, 104, [["1", "1"]], [])  # stale: nothing
    assert book.ofi_events == 0


def test_order_flow_imbalance_on_the_real_recording(recording: Recording) -> None:
    """The sum of CKS eₙ from the reference's best levels equals the book's ``ofi``."""
    snap = recording.snapshot
    ref = RefBook(snap["lastUpdateId"], snap["bids"], snap["asks"])
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    total = Decimal(0)
    chunk = Decimal(0)
    for i, d in enumerate(recording.diffs):
        (pb0, qb0), (pa0, qa0) = ref.bids.top(1)[0], ref.asks.top(1)[0]
        if ref.apply(d) == "applied":
            (pb, qb), (pa, qa) = ref.bids.top(1)[0], ref.asks.top(1)[0]
            e = (
                (qb if pb >= pb0 else 0)
                - (qb0 if pb <= pb0 else 0)
                - (qa if pa <= pa0 else 0)
                + (qa0 if pa >= pa0 else 0)
            )
            total += e
            chunk += e
        book.apply_diff(d.first, d.final, d.bids, d.asks)
        if i % 600 == 599:  # read and reset, as per candle
            assert book.take_ofi() == float(chunk), f"event {i}"
            chunk = Decimal(0)
    assert book.take_ofi() == float(chunk)
    assert total != 0


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bids", "asks", "message"),
    [
        ([["abc", "1"]], [], r"bids\[0\]: price \"abc\" is not a decimal number"),
        ([["100", "1"]], [["101", "-1"]], r"asks\[0\]: quantity \"-1\" is negative"),
        ([["100", "1"], ["99", "1.5.1"]], [], r"bids\[1\]: quantity \"1.5.1\""),
        ([["100.123456789", "1"]], [], r"more than 8 decimals"),
        ([["0", "1"]], [], r"price \"0\" must be > 0"),
        ([["100"]], [], r"bids\[0\] must be a \[price, quantity\] pair"),
        (["100"], [], r"bids\[0\] must be a \[price, quantity\] pair"),
        ([["100", "1", "2"]], [], r"pair"),
        (5, [], r"bids must be a list"),
    ],
)
def test_bad_levels_give_a_clear_value_error_and_change_nothing(
    hand_book: OrderBook, bids: Any, asks: Any, message: str
) -> None:
    before = (hand_book.bids(), hand_book.asks(), hand_book.last_update_id, hand_book.state)
    with pytest.raises(ValueError, match=message):
        hand_book.apply_diff(11, 11, bids, asks)
    with pytest.raises(ValueError, match=message):
        hand_book.apply_snapshot(50, bids, asks)
    assert (hand_book.bids(), hand_book.asks(), hand_book.last_update_id, hand_book.state) == before


def test_bad_ids_and_parameters(hand_book: OrderBook) -> None:
    with pytest.raises(ValueError, match="U=12 after its final update id u=11"):
        hand_book.apply_diff(12, 11, [], [])
    with pytest.raises(ValueError, match="last_update_id"):
        hand_book.apply_snapshot(-1, [], [])
    with pytest.raises(ValueError, match="`n`"):
        hand_book.imbalance(0)
    with pytest.raises(ValueError, match="`n`"):
        hand_book.bids(0)
    with pytest.raises(ValueError, match="`bps`"):
        hand_book.depth(-1)
    with pytest.raises(ValueError, match="`bps`"):
        hand_book.depth(float("nan"))


def test_decimal_and_tuple_levels_are_accepted() -> None:
    book = OrderBook("X")
    book.apply_snapshot(1, [(Decimal("99.5"), Decimal("0.001"))], (("100", 2),))
    assert book.best_bid() == (99.5, 0.001)
    assert book.best_ask() == (100.0, 2.0)


def test_empty_book_analytics_are_none() -> None:
    book = OrderBook("X")
    book.apply_snapshot(1, [["99", "1"]], [])
    assert book.spread() is None
    assert book.mid() is None
    assert book.microprice() is None
    assert book.best_ask() is None
    assert book.imbalance(5) == 1.0
    assert book.depth(10) == (0.0, 0.0)
    book.apply_snapshot(2, [], [])
    assert book.imbalance(5) is None


def book_state(book: OrderBook) -> tuple[object, ...]:
    """Everything a replay changes: both whole sides, the ids and the state."""
    return (
        book.bids(),
        book.asks(),
        book.last_update_id,
        book.state,
        book.gaps,
        book.ofi,
        book.ofi_events,
    )


def one_by_one(snap: dict[str, Any], messages: list[bytes]) -> tuple[OrderBook, int, str | None]:
    """The reference path: ``apply_message`` in turn, stopped by the first error.

    The error as ``apply_messages`` words it: the index after the prefix of
    the exception's type (``invalid input: ``, ``order book gap: ``).
    """
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    applied = 0
    for i, m in enumerate(messages):
        try:
            applied += book.apply_message(m)
        except AvdError as e:
            kind, text = str(e).split(": ", 1)
            return book, applied, f"{type(e).__name__}: {kind}: messages[{i}]: {text}"
    return book, applied, None


def replayed(
    snap: dict[str, Any], messages: list[bytes]
) -> tuple[OrderBook, int | None, str | None]:
    """``apply_messages`` on a fresh book: the count or the error's text."""
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    try:
        return book, book.apply_messages(messages), None
    except AvdError as e:
        return book, None, f"{type(e).__name__}: {e}"


def test_apply_messages_on_two_threads_equals_apply_message_one_by_one(
    recording: Recording, raw_messages: list[bytes]
) -> None:
    # long lists take the pipelined path (parsed on two threads); the
    # book after it equals the reference book and apply_message one by one
    snap = recording.snapshot
    ref = RefBook(snap["lastUpdateId"], snap["bids"], snap["asks"])
    want = sum(ref.apply(d) == "applied" for d in recording.diffs)
    book, applied, err = replayed(snap, raw_messages)
    assert (applied, err) == (want, None)
    assert book.last_update_id == ref.last
    assert book.bids() == floats(ref.bids.top(len(ref.bids.keys)))
    assert book.asks() == floats(ref.asks.top(len(ref.asks.keys)))
    single, count, _ = one_by_one(snap, raw_messages)
    assert count == want
    assert book_state(book) == book_state(single)

    # longer than any internal buffer: the recording again and again (all
    # stale after the first pass) past 2**15 messages per pass, then a gap
    n = len(raw_messages)
    long = raw_messages * (40_000 // n + 2)
    assert len(long) > 40_000
    book, applied, err = replayed(snap, long)
    assert (applied, err) == (want, None)
    assert book_state(book) == book_state(single)
    stale_then_bad = [*long, b"{not json"]
    book, applied, err = replayed(snap, stale_then_bad)
    assert applied is None and err is not None
    assert f": messages[{len(long)}]: " in err
    assert book_state(book) == book_state(single)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("kind", ["malformed", "gap", "bad level"])
def test_apply_messages_stops_at_the_first_error_as_one_by_one_does(
    recording: Recording, raw_messages: list[bytes], where: str, kind: str
) -> None:
    snap = recording.snapshot
    messages = list(raw_messages[:3000])
    at = {"first": 0, "middle": 1234, "last": len(messages) - 1}[where]
    if kind == "malformed":
        messages[at] = messages[at][:-7]
    elif kind == "gap":
        # the message before `at` dropped: `at` no longer follows (first:
        # the stale ones and the straddling event dropped, the next one does
        # not straddle)
        if where == "first":
            straddling = next(
                i for i, d in enumerate(recording.diffs) if d.final > snap["lastUpdateId"]
            )
            messages = messages[straddling + 1 :]
        else:
            del messages[at - 1]
            at -= 1
    else:
        messages[at] = messages[at].replace(b'"b":[["', b'"b":[["x', 1)
    single, _, want_err = one_by_one(snap, messages)
    assert want_err is not None and f": messages[{at}]: " in want_err
    book, applied, err = replayed(snap, messages)
    assert (applied, err) == (None, want_err)
    assert book_state(book) == book_state(single)
    exc = BookGapError if kind == "gap" else ValueError
    fresh = OrderBook("BTCUSDT")
    fresh.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    with pytest.raises(exc, match=rf": messages\[{at}\]: "):
        fresh.apply_messages(iter(messages))


@pytest.mark.parametrize("n", [0, 1, 2, 63, 255, 256, 257, 1000])
def test_apply_messages_short_lists_equal_one_by_one(
    recording: Recording, raw_messages: list[bytes], n: int
) -> None:
    # around the length where the second thread starts, and the tiny lists
    snap = recording.snapshot
    single, count, _ = one_by_one(snap, raw_messages[:n])
    for batch in (
        raw_messages[:n],
        [m.decode() for m in raw_messages[:n]],
        [bytearray(m) for m in raw_messages[:n]],
    ):
        book = OrderBook("BTCUSDT")
        book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
        assert book.apply_messages(batch) == count  # type: ignore[arg-type]
        assert book_state(book) == book_state(single)
    # a non-message after a long run: the run applied, then the error
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    with pytest.raises(ValueError, match=rf": messages\[{n}\]: .*bytes or str"):
        book.apply_messages([*raw_messages[:n], 7])  # type: ignore[list-item]
    assert book_state(book) == book_state(single)
