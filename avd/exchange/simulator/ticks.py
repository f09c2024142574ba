"""``avd sim --ticks FILE``: replay a raw websocket recording with its original timing.

The file is the recorder's format (``shared/data/ticks/*-spot-ws-*.txt.gz``,
gzip or plain text): one message a line, ``<receive time ns> <JSON>``, the
JSON being the combined-stream message ``{"stream", "data"}`` exactly as
received, except one line holding the REST ``GET /api/v3/depth`` snapshot
(``{"lastUpdateId", "bids", "asks"}``).

The replay sends each recorded ``data`` to the subscribers of its stream at
its receive time (relative to the first line, divided by the speed; speed 0
= as fast as the consumers take), in file order. ``<s>@depth@100ms`` also
reaches subscribers of ``<s>@depth``, and each ``<s>@trade`` also goes out on
``<s>@aggTrade`` as a one-trade aggregate (``a`` = ``f`` = ``l`` = the trade id).

The simulator follows the recorded book itself, by Binance's procedure:
diffs are buffered until the snapshot line, then those with
``u <= lastUpdateId`` are dropped, the first one must straddle
``lastUpdateId + 1`` and every later one must start at the previous ``u + 1``.
``GET /api/v3/depth`` answers:

* before the snapshot's receive time: **the recorded snapshot itself** (the
  only book there is; its ``lastUpdateId`` is ahead of the diffs sent so far,
  so a client following Binance's procedure drops what it buffered and
  starts at the straddling diff when it arrives);
* from then on: the simulator's book at the last diff sent (``lastUpdateId``
  = that diff's ``u``), so a client may (re)sync at any time.

``limit`` (default 100, at most 5000) cuts either to the best levels.
``GET /api/v3/ticker/bookTicker?symbol=`` answers the last recorded
``bookTicker`` sent (before the first one: the candle data's, as for the
other REST endpoints).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from avd.exceptions import DataError

from .numbers import SCALE, fmt_units

if TYPE_CHECKING:
    from .streams import StreamHub

log = logging.getLogger(__name__)

Levels = list[list[str]]


def to_units(text: str) -> int:
    """``"61737.63000000"`` -> units of 1e-8 (exact)."""
    whole, _, frac = text.partition(".")
    if len(frac) > 8 or not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a Binance decimal: {text!r}")
    return int(whole) * SCALE + int((frac + "00000000")[:8])


@dataclass(slots=True)
class Line:
    """One recorded message: receive time, stream (None: the snapshot), payload."""

    ns: int
    stream: str | None
    data: bytes
    depth: dict[str, Any] | None = None


@dataclass
class Recording:
    """A whole recording in memory."""

    path: Path
    lines: list[Line]
    #: the one symbol of the depth streams (upper case)
    symbol: str
    snapshot: dict[str, Any] | None
    streams: list[str] = field(default_factory=list)


def load_recording(path: Path) -> Recording:
    """Read and check a recording; a :class:`DataError` naming the line when it is bad.

    The last recording read is kept (it is only read, never changed): ``avd sim``
    checks the file before it starts the server, which then replays it.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such recording file")
    st = path.stat()
    return _load(path.resolve(), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=1)
def _load(path: Path, mtime_ns: int, size: int) -> Recording:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    lines: list[Line] = []
    snapshot: dict[str, Any] | None = None
    symbols: set[str] = set()
    streams: set[str] = set()
    try:
        with opener(path, "rb") as fh:
            for no, raw in enumerate(fh, 1):
                raw = raw.strip()
                if not raw:
                    continue
                ns_text, _, body = raw.partition(b" ")
                try:
                    ns = int(ns_text)
                    msg = orjson.loads(body)
                except (ValueError, orjson.JSONDecodeError):
                    raise DataError(
                        f"{path}:{no}: not '<receive time ns> <JSON message>'"
                    ) from None
                if not isinstance(msg, dict):
                    raise DataError(f"{path}:{no}: the message is not a JSON object")
                if "stream" in msg and "data" in msg:
                    name = str(msg["stream"])
                    data = msg["data"]
                    depth = data if data.get("e") == "depthUpdate" else None
                    if depth is not None:
                        symbols.add(str(depth["s"]).upper())
                    streams.add(name)
                    lines.append(Line(ns, name, orjson.dumps(data), depth))
                elif "lastUpdateId" in msg:
                    if snapshot is not None:
                        raise DataError(f"{path}:{no}: a second depth snapshot")
                    snapshot = msg
                    lines.append(Line(ns, None, b"", msg))
                else:
                    raise DataError(f"{path}:{no}: neither a stream message nor a depth snapshot")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read the recording ({exc})") from None
    if not lines:
        raise DataError(f"{path}: the recording is empty")
    if len(symbols) > 1:
        raise DataError(f"{path}: depth streams of several symbols ({sorted(symbols)})")
    if not streams:
        raise DataError(f"{path}: no stream message in the recording")
    symbol = next(iter(symbols)) if symbols else sorted(streams)[0].split("@")[0].upper()
    return Recording(path, lines, symbol, snapshot, sorted(streams))


class RecordedBook:
    """The recorded book, followed by Binance's procedure (integer units)."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.last_update_id = 0
        self.synced = False
        self.buffer: list[dict[str, Any]] = []

    @staticmethod
    def _apply(side: dict[int, int], levels: Levels) -> None:
        for p, q in levels:
            price, qty = to_units(p), to_units(q)
            if qty:
                side[price] = qty
            else:
                side.pop(price, None)

    def snapshot(self, snap: dict[str, Any]) -> None:
        """Load the snapshot and replay the buffered diffs onto it."""
        self.bids.clear()
        self.asks.clear()
        self._apply(self.bids, snap["bids"])
        self._apply(self.asks, snap["asks"])
        self.last_update_id = int(snap["lastUpdateId"])
        self.synced = True
        pending, self.buffer = self.buffer, []
        for d in pending:
            self.diff(d)

    def diff(self, d: dict[str, Any]) -> None:
        """Apply (or buffer, before the snapshot) one ``depthUpdate``."""
        if not self.synced:
            self.buffer.append(d)
            return
        first, last = int(d["U"]), int(d["u"])
        if last <= self.last_update_id:
            return
        if first > self.last_update_id + 1:
            log.warning("the recording has a depth gap: %d after %d", first, self.last_update_id)
        self._apply(self.bids, d["b"])
        self._apply(self.asks, d["a"])
        self.last_update_id = last

    def view(self, limit: int | None = None) -> dict[str, Any]:
        """``{"lastUpdateId", "bids", "asks"}`` as Binance's REST depth, best first."""
        bids = sorted(self.bids.items(), reverse=True)
        asks = sorted(self.asks.items())
        if limit is not None:
            bids, asks = bids[:limit], asks[:limit]
        return {
            "lastUpdateId": self.last_update_id,
            "bids": [[fmt_units(p), fmt_units(q)] for p, q in bids],
            "asks": [[fmt_units(p), fmt_units(q)] for p, q in asks],
        }


class TickReplay:
    """Plays a :class:`Recording` to the simulator's stream subscribers."""

    def __init__(self, recording: Recording, hub: StreamHub) -> None:
        self.rec = recording
        self.hub = hub
        self.book = RecordedBook()
        #: index of the next line to send
        self.pos = 0
        self.snapshot_sent = False
        #: the last recorded ``bookTicker`` sent (REST ``ticker/bookTicker``)
        self.last_ticker: dict[str, Any] | None = None

    @property
    def symbol(self) -> str:
        """The recorded symbol."""
        return self.rec.symbol

    @property
    def finished(self) -> bool:
        """True once every line was sent."""
        return self.pos >= len(self.rec.lines)

    def _targets(self, name: str) -> list[str]:
        sym, _, kind = name.partition("@")
        if kind.startswith("depth") and not kind[5:6].isdigit():
            return [f"{sym}@depth", f"{sym}@depth@100ms", f"{sym}@depth@1000ms"]
        return [name]

    def send_one(self) -> None:
        """Send the next line (and follow the book)."""
        line = self.rec.lines[self.pos]
        self.pos += 1
        if line.stream is None:
            assert line.depth is not None
            self.book.snapshot(line.depth)
            self.snapshot_sent = True
            return
        if line.depth is not None:
            self.book.diff(line.depth)
        elif line.stream.endswith("@bookTicker"):
            self.last_ticker = orjson.loads(line.data)
        subs = self.hub.subs
        for name in self._targets(line.stream):
            if name in subs:
                self.hub.publish(name, line.data)
        if line.stream.endswith("@trade"):
            agg = line.stream[: -len("@trade")] + "@aggTrade"
            if agg in subs:
                t = orjson.loads(line.data)
                self.hub.publish(
                    agg,
                    orjson.dumps(
                        {
                            "e": "aggTrade",
                            "E": t["E"],
                            "s": t["s"],
                            "a": t["t"],
                            "p": t["p"],
                            "q": t["q"],
                            "f": t["t"],
                            "l": t["t"],
                            "T": t["T"],
                            "m": t["m"],
                            "M": True,
                        }
                    ),
                )

    def depth(self, limit: int) -> dict[str, Any]:
        """The REST depth answer (see the module doc)."""
        if not self.book.synced:
            snap = self.rec.snapshot
            if snap is None:
                return {"lastUpdateId": 0, "bids": [], "asks": []}
            return {
                "lastUpdateId": snap["lastUpdateId"],
                "bids": snap["bids"][:limit],
                "asks": snap["asks"][:limit],
            }
        return self.book.view(limit)

    def book_ticker(self) -> dict[str, Any] | None:
        """REST ``ticker/bookTicker`` from the last recorded ``bookTicker`` (None before one)."""
        t = self.last_ticker
        if t is None:
            return None
        return {
            "symbol": self.symbol,
            "bidPrice": t["b"],
            "bidQty": t["B"],
            "askPrice": t["a"],
            "askQty": t["A"],
        }

    async def run(self, sim: Any) -> None:
        """Send the lines at their recorded times (x ``sim.speed``); pause and speed apply."""
        loop = asyncio.get_running_loop()
        lines = self.rec.lines
        anchor: tuple[float, int] | None = None  # (loop time, ns) of the pacing origin
        speed = sim.speed
        told_end = False
        while True:
            if self.finished:
                if not told_end:
                    told_end = True
                    log.warning("the recording %s is replayed to its end", self.rec.path.name)
                await sim._sleep(0.5)
                continue
            if sim.paused or (sim.speed == 0 and not self.hub.conns):
                await sim._sleep(0.05)
                anchor = None
                continue
            if sim.speed != speed:
                speed, anchor = sim.speed, None
            ns = lines[self.pos].ns
            if speed > 0:
                if anchor is None:
                    anchor = (loop.time(), ns)
                due = anchor[0] + (ns - anchor[1]) / 1e9 / speed
                delay = due - loop.time()
                if delay > 0.0005:
                    await sim._sleep(delay)
                    continue
                if delay < -1.0:
                    anchor = (loop.time(), ns)  # fell far behind: do not burst to catch up
            self.send_one()
            sim.steps += 1
            await self.hub.backpressure()
            if speed == 0 or self.pos % 64 == 0:
                await asyncio.sleep(0)

    def state(self) -> dict[str, Any]:
        """The replay position (for ``GET /sim/admin/state``)."""
        return {
            "file": str(self.rec.path),
            "symbol": self.symbol,
            "lines": len(self.rec.lines),
            "sent": self.pos,
            "finished": self.finished,
            "book_synced": self.book.synced,
            "last_update_id": self.book.last_update_id,
        }
