"""Raw depth messages in layouts other than Binance's compact fixed format.

``OrderBook.apply_message`` reads Binance's own layout in place (decimals of
1 to 7 integer digits and exactly 8 decimals, no whitespace) and hands
anything else to ``serde_json``. These messages take the other paths: other
decimal forms, whitespace, levels cut at odd places. The reference is
Python's ``Decimal`` (and ``json``) on the same text: the book after
``apply_message`` holds exactly the levels the decimal texts denote, and a
malformed number is refused with the message naming it, the book unchanged.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from avd.orderbook import OrderBook

SNAP_BIDS = [["100.00000000", "1.00000000"], ["99.00000000", "2.00000000"]]
SNAP_ASKS = [["101.00000000", "1.00000000"], ["102.00000000", "3.00000000"]]

# (price text, quantity text) as a sender might write them
ODD_LEVELS = [
    ("99.50000000", "0.00105000"),  # Binance's own format
    ("99.5", "0.5"),  # short decimals
    ("99.25000000000", "1.50000000000"),  # more than 8 decimals, all zeros
    ("9.875E+1", "2.5e-3"),  # exponent forms
    ("00000098.00000000", "4.00000000"),  # 8 integer digits
    ("12345678.12345678", "0.00000001"),  # 8 integer digits and 8 decimals
    ("97", "7"),  # integers
    ("100.00000000", "0.00000000"),  # removes the best bid
]


def message(
    first: int, last: int, bids: list[list[str]], asks: list[list[str]], **dumps: object
) -> bytes:
    data = {"e": "depthUpdate", "E": 1, "s": "XUSDT", "U": first, "u": last, "b": bids, "a": asks}
    return json.dumps({"stream": "xusdt@depth@100ms", "data": data}, **dumps).encode()  # type: ignore[arg-type]


def reference(levels: list[list[str]], descending: bool) -> list[tuple[float, float]]:
    """The side from the decimal texts: last write wins, zero removes."""
    side: dict[Decimal, Decimal] = {}
    for p, q in levels:
        if Decimal(q) == 0:
            side.pop(Decimal(p), None)
        else:
            side[Decimal(p)] = Decimal(q)
    return [(float(p), float(side[p])) for p in sorted(side, reverse=descending)]


@pytest.mark.parametrize(
    "dumps",
    [
        {"separators": (",", ":")},  # compact, as Binance sends
        {},  # json's default ", " and ": "
        {"indent": 1},  # levels split over lines
    ],
    ids=["compact", "spaced", "indented"],
)
def test_odd_decimals_and_layouts_give_the_exact_levels(dumps: dict[str, object]) -> None:
    book = OrderBook("XUSDT")
    book.apply_snapshot(10, SNAP_BIDS, SNAP_ASKS)
    bids, asks = list(SNAP_BIDS), list(SNAP_ASKS)
    for i, (p, q) in enumerate(ODD_LEVELS):
        ask = [str(Decimal(p) + 10), q]
        assert book.apply_message(message(11 + i, 11 + i, [[p, q]], [ask], **dumps)) is True
        bids.append([p, q])
        asks.append(ask)
        assert book.bids() == reference(bids, descending=True), (p, q)
        assert book.asks() == reference(asks, descending=False), (p, q)
    assert book.last_update_id == 10 + len(ODD_LEVELS)


@pytest.mark.parametrize(
    ("price", "qty", "detail"),
    [
        ("1.123456789", "1", r'price "1\.123456789" has more than 8 decimals'),
        ("1.00000000", "0.000000001", r'quantity "0\.000000001" has more than 8 decimals'),
        ("1.2345678a", "1", r'price "1\.2345678a" is not a decimal number'),
        ("1a.12345678", "1", r'price "1a\.12345678" is not a decimal number'),
        ("1.00000000", "-1.00000000", r'quantity "-1\.00000000" is negative'),
        ("1e400", "1", r'price "1e400"'),
        ("0.00000000", "1", r'price "0\.00000000" must be > 0'),
        ("", "1", r'price "" is not a decimal number'),
    ],
)
def test_malformed_numbers_are_refused_naming_them_and_change_nothing(
    price: str, qty: str, detail: str
) -> None:
    book = OrderBook("XUSDT")
    book.apply_snapshot(10, SNAP_BIDS, SNAP_ASKS)
    before = (book.bids(), book.asks(), book.last_update_id, book.state)
    good = ["50.00000000", "1.00000000"]
    for bids, asks, where in [
        ([good, [price, qty]], [], r"b\[1\]"),
        ([], [[price, qty]], r"a\[0\]"),
    ]:
        with pytest.raises(ValueError, match=rf"depth message: {where}: .*{detail}"):
            book.apply_message(message(11, 11, bids, asks, separators=(",", ":")))
        # the lists path names the same number
        with pytest.raises(ValueError, match=detail):
            book.apply_diff(11, 11, bids, asks)
        assert (book.bids(), book.asks(), book.last_update_id, book.state) == before


def test_a_message_cut_anywhere_is_refused_and_changes_nothing() -> None:
    book = OrderBook("XUSDT")
    book.apply_snapshot(10, SNAP_BIDS, SNAP_ASKS)
    whole = message(
        11,
        11,
        [["99.50000000", "0.00105000"]],
        [["101.00000000", "0.00000000"]],
        separators=(",", ":"),
    )
    before = (book.bids(), book.asks(), book.last_update_id)
    for n in range(len(whole)):
        with pytest.raises(ValueError, match="depth message"):
            book.apply_message(whole[:n])
        assert (book.bids(), book.asks(), book.last_update_id) == before
    assert book.apply_message(whole) is True
    assert book.best_bid() == (100.0, 1.0) and book.best_ask() == (102.0, 3.0)
