"""The MarketContext service's settings: what it tracks, and how its collector keeps the streams.

:class:`MarketSection` is the ``market`` section of ``avd run`` and
``avd serve market``; :class:`CollectorSettings` is what the collector is
given from it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from avd import _core
from avd.services.market.long_short import LongShortSettings
from avd.services.market.regimes import RegimeSettings
from avd.services.market.scanner import ScannerSettings
from avd.services.market.shards import Shard
from avd.services.market.universe import valid_entry


class BookSettings(BaseModel):
    """How the collector keeps the order books and the order flow (``market.book``)."""

    model_config = {"extra": "forbid", "frozen": True}

    #: levels of the REST snapshot (weight 50 at 1000; 250 at 5000)
    snapshot_limit: int = Field(1000, ge=5, le=5000)
    #: depth events buffered while a snapshot is fetched
    buffer: int = Field(10_000, ge=10)
    #: the depth analytics of each closed candle: levels in the imbalance, band in bps
    imbalance_levels: int = Field(10, ge=1, le=5000)
    depth_bps: float = Field(10.0, gt=0)
    #: a trade is large at this notional (quote asset) or more
    large_trade_notional: float = Field(100_000.0, ge=0)
    #: VPIN buckets hold 1/buckets_per_day of the typical day's volume (from the warm-up candles)
    vpin_buckets_per_day: int = Field(50, ge=1)
    #: VPIN over this many buckets
    vpin_window: int = Field(50, ge=1)
    #: closed candles of flow and book analytics kept per stream
    history: int = Field(1440, ge=1)


def _book_entries(v: list[str]) -> list[str]:
    bad = [s for s in v if not (s == "*" or (s.isalnum() and s.isupper()))]
    if bad:
        raise ValueError(f"not Binance symbols: {bad}")
    return v


class MarketSection(BaseModel):
    """What the MarketContext service tracks and how."""

    model_config = {"extra": "forbid", "frozen": True}

    #: symbols to track, and universe selectors (``*USDT``: every trading USDT pair, see
    #: ``universe.py``); empty = every symbol the simulator replays, ``*USDT`` on Binance
    symbols: list[str] = Field(default_factory=list)
    #: kline intervals; [] = the replayed interval (simulator) or 1m (Binance)
    intervals: list[str] = Field(default_factory=list)
    #: the engine configuration (see the README's "Engine configuration")
    engine: dict[str, Any] = Field(default_factory=dict)
    warmup_bars: int = Field(300, ge=1, le=5000)
    silence_timeout_s: float = Field(30.0, gt=0)
    max_streams_per_connection: int = Field(200, ge=1, le=1024)
    #: regime detection (a Gaussian HMM per stream; see ``regimes.py``)
    regimes: RegimeSettings = Field(default_factory=RegimeSettings)
    #: the scanner's filters (see ``scanner.py``)
    scanner: ScannerSettings = Field(default_factory=ScannerSettings)
    #: long/short ratios from Binance's futures data API (off by default; ``long_short.py``)
    long_short: LongShortSettings = Field(default_factory=LongShortSettings)
    #: ``i/n``: track only the symbols of shard i of n (``crc32(symbol) mod n == i``,
    #: see ``shards.py``); several ``avd serve market`` then split the symbols
    shard: str | None = None
    #: symbols whose order book and trade flow are kept live (``@depth@100ms`` +
    #: ``@aggTrade``); empty = off, ``["*"]`` = every tracked symbol
    book_symbols: list[str] = Field(default_factory=list)
    #: how the books and flows are kept (see ``book_keeper.py``)
    book: BookSettings = Field(default_factory=BookSettings)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        return _entries(v)

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: str | None) -> str | None:
        if v is not None:
            Shard.parse(v)  # a clear error for anything but i/n with i < n
        return v

    @field_validator("book_symbols")
    @classmethod
    def _book_symbols(cls, v: list[str]) -> list[str]:
        return _book_entries(v)


def _entries(v: list[str]) -> list[str]:
    bad = [s for s in v if not valid_entry(s)]
    if bad:
        raise ValueError(f"not Binance symbols (nor selectors like *USDT): {', '.join(bad)}")
    return v


class CollectorSettings(BaseModel):
    """What to collect and how to keep the connections healthy."""

    model_config = {"extra": "forbid", "frozen": True}

    symbols: list[str] = Field(default_factory=lambda: ["BTCUSDT"], min_length=1)
    intervals: list[str] = Field(default_factory=lambda: ["1m"], min_length=1)
    #: closed candles to warm each stream up with
    warmup_bars: int = Field(500, ge=1, le=5000)
    #: a connection silent this long is reopened
    silence_timeout_s: float = Field(30.0, gt=0)
    #: connections are renewed this often (Binance cuts at 24 h)
    renew_after_s: float = Field(23.5 * 3600, gt=0)
    #: Binance allows 1024 per connection; fewer keeps the stream URL short
    max_streams_per_connection: int = Field(200, ge=1, le=1024)
    #: python-binance's per-socket queue (100 by default, which overflows)
    socket_queue_size: int = Field(100_000, ge=100)
    rest_weight_per_minute: int = Field(6000, ge=1)
    reconnect_delay_s: float = Field(1.0, ge=0)
    #: ``i/n``: track only this shard's part of the symbols (after selectors are expanded)
    shard: str | None = None
    #: symbols whose order book and trade flow are kept (a subset of ``symbols``; ``*`` = all)
    book_symbols: list[str] = Field(default_factory=list)
    book: BookSettings = Field(default_factory=BookSettings)

    @field_validator("book_symbols")
    @classmethod
    def _book_symbols(cls, v: list[str]) -> list[str]:
        return _book_entries(v)

    def books(self, tracked: list[str]) -> list[str]:
        """The symbols whose books are kept among ``tracked`` (selectors and the shard applied).

        ``*`` is every tracked symbol. A book symbol that is not tracked is
        refused, unless this collector is a shard: another shard keeps it.
        """
        if "*" in self.book_symbols:
            return list(tracked)
        unknown = [s for s in self.book_symbols if s not in tracked]
        if unknown and self.shard is None:
            raise ValueError(f"book_symbols {unknown} are not tracked (symbols: {tracked})")
        return [s for s in self.book_symbols if s in tracked]

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return _entries(v)

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, v: list[str]) -> list[str]:
        for i in v:
            _core.interval_ms(i)  # raises a clear error for an unknown interval
        return v
