"""The market as the paper exchange sees it, and the paper orders waiting for it.

:class:`PaperMarket` keeps each symbol's latest price and newest candle from
the market stream, and offers every price (or a closed candle seen whole, the
fill model's intrabar path) to the working orders, each a
:class:`~avd.trading.SimOrder`; a fill is handed to the exchange's callback,
which books it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from avd.exchange.exchange import ExchangeError, OrderReport
from avd.trading import Fill, SimOrder


@dataclass
class Working:
    """A paper order waiting for the market."""

    report: OrderReport
    sim: SimOrder
    #: funds are checked when a waiting MARKET order fills (nothing is locked)
    market: bool = False


#: books one fill of a working order: (client order id, the order, the fill)
FillHandler = Callable[[str, Working, Fill], Awaitable[None]]


class PaperMarket:
    """The latest prices and candles of the stream, matched against the working orders."""

    def __init__(self, on_fill: FillHandler) -> None:
        self._on_fill = on_fill
        #: (time, price) of the latest trade per symbol
        self.prices: dict[str, tuple[int, Decimal]] = {}
        #: the working orders by client order id
        self.working: dict[str, Working] = {}
        #: open time of the newest candle seen per symbol
        self._candle: dict[str, int] = {}

    def last_price(self, symbol: str) -> Decimal:
        """The latest price fed by the market stream.

        Raises
        ------
        ExchangeError
            Before the stream gave a price of ``symbol``.
        """
        got = self.prices.get(symbol)
        if got is None:
            raise ExchangeError(
                f"no market price for {symbol} yet: paper fills need the market stream",
                rule="no_market_price",
            )
        return got[1]

    async def on_kline(
        self,
        symbol: str,
        open_time: int,
        close_time: int,
        candle: tuple[Decimal, Decimal, Decimal, Decimal, Decimal],
        *,
        closed: bool,
        ts: int,
    ) -> None:
        """A kline of the stream: ``candle`` is (open, high, low, close, volume).

        A candle seen first is a trade at its open; seen first closed, it is
        offered whole to the working orders, otherwise its latest price is.
        """
        o, h, lo, c, v = candle
        new = open_time > self._candle.get(symbol, -1)
        if new:
            self._candle[symbol] = open_time
        if new and closed:
            self.prices[symbol] = (close_time, c)
            for cid, w in list(self.working.items()):
                if w.report.symbol == symbol:
                    fill = w.sim.on_candle(open_time, close_time, o, h, lo, c, v)
                    if fill is not None:
                        await self._on_fill(cid, w, fill)
            return
        if new:
            await self.on_price(symbol, open_time, o)
        await self.on_price(symbol, close_time if closed else ts, c)

    async def on_price(self, symbol: str, ts: int, price: Decimal) -> None:
        """A new market price: fill what it reaches."""
        self.prices[symbol] = (ts, price)
        for cid, w in list(self.working.items()):
            if w.report.symbol != symbol:
                continue
            fill = w.sim.on_price(ts, price)
            if fill is not None:
                await self._on_fill(cid, w, fill)
