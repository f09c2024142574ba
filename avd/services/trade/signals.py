"""The bots: a signal becomes a trade for every client whose bot is enabled and trades it.

A BUY opens a long (one position per symbol) sized from the client's risk
per trade and stop rules at the signal's price; a SELL closes the client's
longs in that symbol (spot holds no shorts). In paper mode both go as market
orders that fill at the first trade after the signal's candle closed (the
next candle's open), as the backtester fills them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from avd.domain.errors import Conflict, Refusal
from avd.domain.events import SignalGenerated
from avd.domain.parameters import BotParameters
from avd.exchange.paper import PaperExchange
from avd.services.trade.entries import Entries
from avd.services.trade.manual import Manual
from avd.services.trade.orders import Orders
from avd.services.trade.plans import TradeOrder
from avd.services.trade.positions import Positions
from avd.services.trade.stops import dec
from avd.store import trades as repo

log = logging.getLogger(__name__)

BotsSource = Callable[[], Awaitable[list[tuple[int, BotParameters]]]]
#: the market scanner's ranked symbols of an interval, best first, at most N
ScannerSource = Callable[[str, int], Awaitable[list[str]]]
SCANNER = "scanner:"


def trades_strategy(params: BotParameters, sig: SignalGenerated) -> bool:
    """Whether a bot trades ``sig``'s strategy: the primary one unless it names another."""
    return sig.primary if params.strategy is None else sig.strategy == params.strategy


@dataclass
class Waiting:
    """A signal kept for the clients this worker did not own when it arrived."""

    received: float
    signal: SignalGenerated
    clients: set[int]


class Signals:
    """Trades the signals for the enabled bots."""

    def __init__(
        self,
        bots: BotsSource,
        entries: Entries,
        manual: Manual,
        orders: Orders,
        positions: Positions,
        *,
        cache_s: float,
        ttl_s: float = 30.0,
    ) -> None:
        self._bots = bots
        self.entries = entries
        self.manual = manual
        self.orders = orders
        self.positions = positions
        self.cache_s = cache_s
        self._cache: tuple[float, list[tuple[int, BotParameters]]] = (0.0, [])
        #: where ``scanner:N`` bots learn the top N (set by the runtime; without
        #: it such an entry matches nothing)
        self.scanner: ScannerSource | None = None
        #: whether this worker trades for a client now (trade workers; default: all)
        self.owns: Callable[[int], bool] = lambda _client_id: True
        #: whether the client is this worker's even while it may not act (leases lapsed)
        self.holds: Callable[[int], bool] = lambda _client_id: False
        #: the newest signal per stream the client's previous holder had handled
        self.handled_before: Callable[[int], dict[tuple[str, str], int]] = lambda _c: {}
        #: records that this worker handled a stream's signal for all its clients
        self.mark: Callable[[str, str, int], Awaitable[None]] | None = None
        #: how long a signal waits for a client with no live owner
        self.ttl_s = ttl_s
        self.waiting: deque[Waiting] = deque()
        #: one signal at a time per client: the waiting ones (oldest first), then a new one
        self._client_locks: dict[int, asyncio.Lock] = {}
        #: entries placed for signals; signals a take-over found too old to trade
        self.traded = 0
        self.expired = 0

    def forget_bots(self) -> None:
        """Read the bots again at the next signal (a client changed); the list is kept meanwhile."""
        self._cache = (float("-inf"), self._cache[1])

    async def bots(self) -> list[tuple[int, BotParameters]]:
        """Clients whose bot is enabled (cached briefly)."""
        at, cached = self._cache
        if time.monotonic() - at > self.cache_s:
            try:
                cached = [(cid, p) for cid, p in await self._bots() if p.enabled]
            except Refusal as exc:
                # the Client service is down: the bots known last go on trading
                # (their entries are refused until it answers; exits go on)
                log.warning("the bots could not be refreshed (%s); the last list is used", exc)
                return cached
            self._cache = (time.monotonic(), cached)
        return cached

    async def on_signal(self, sig: SignalGenerated) -> None:
        """Trade a signal for every enabled bot that trades its symbol.

        A BUY opens a long unless the client already holds (or waits for)
        one in that symbol; a SELL closes the client's longs in it. Both go
        at the signal's price and, in paper mode, fill at the first trade
        after its candle closed.

        With trade workers (:mod:`avd.services.trade.leases`) only the
        clients this worker owns are traded; the signal waits here for the
        others (see :meth:`take_over`).
        """
        self._expire()
        top: list[str] | None = None
        others: set[int] = set()
        complete = True
        for client_id, params in await self.bots():
            if not self.owns(client_id):
                others.add(client_id)
                # a client of this worker's it may not act for now (its leases lapsed)
                complete = complete and not self.holds(client_id)
                continue
            async with self._lock(client_id):
                # signals that waited for this client go first (a take-over's
                # replay may not have run yet): the bot sees them in order
                await self._replay(client_id)
                top = await self._for_client(client_id, params, sig, top)
        if others:
            self.waiting.append(Waiting(time.monotonic(), sig, others))
        if self.mark is not None and complete:
            try:
                await self.mark(sig.symbol, sig.interval, sig.generated_at)
            except Exception as exc:  # a next owner may replay it: guarded, see take_over
                log.warning("signal %s %s handled but not marked: %s", sig.side, sig.symbol, exc)

    async def take_over(self, client_id: int) -> int:
        """Trade the signals that waited for a client this worker has just taken over.

        The rule for a signal that arrives while a client has no live owner
        (its worker died and the lease has not expired yet): every worker
        takes every signal; a worker that does not own the client keeps it
        for ``signal_ttl_s`` (from when it arrived). Every worker records in
        the shared database, per stream (symbol and interval), the newest
        signal it has handled for all its clients (its mark). The client's
        next owner trades the waiting signals newer than the previous
        holder's mark, oldest first, once the client is restored: the ones
        the previous holder never handled. An older one it had handled is
        not handled again (a SELL replayed after the BUY that followed it
        would close that BUY's position; a BUY it skipped because a position
        was open would open one after the SELL that closed it). A BUY the
        previous owner had traded (a trade of the client from the same
        signal is in the shared database) is never traded again. A
        signal older than ``signal_ttl_s`` at the take-over expires: not
        traded, logged and counted in ``signals_expired``. Returns the
        signals traded.

        A client's signals are handled one at a time and in order: the
        replay holds the client's signal lock, and a new signal for the
        client (:meth:`on_signal`) first trades whatever still waits for
        it. A SELL that arrived after a waiting BUY is therefore never
        handled before it (which would leave the BUY's position open), nor a
        newer BUY traded in place of the older one.
        """
        async with self._lock(client_id):
            return await self._replay(client_id)

    def _lock(self, client_id: int) -> asyncio.Lock:
        lock = self._client_locks.get(client_id)
        if lock is None:
            lock = self._client_locks[client_id] = asyncio.Lock()
        return lock

    async def _replay(self, client_id: int) -> int:
        """Trade the signals waiting for the client, oldest first (its lock held)."""
        self._expire()
        done = 0
        if not any(client_id in w.clients for w in self.waiting):
            return done
        bots = dict(await self.bots())
        params = bots.get(client_id)
        handled = self.handled_before(client_id)
        too_old = time.monotonic() - self.ttl_s
        for w in list(self.waiting):
            if client_id not in w.clients:
                continue
            w.clients.discard(client_id)
            if params is None:
                continue
            sig = w.signal
            if sig.generated_at <= handled.get((sig.symbol, sig.interval), -1):
                continue  # the previous holder had handled it
            if sig.side == "BUY":
                async with self.entries.db.read() as s:
                    if await repo.signal_traded(s, client_id, sig.symbol, sig.generated_at):
                        continue
            if w.received < too_old:
                self.expired += 1
                log.warning(
                    "signal %s %s for client %d expired: %.0f s old at the take-over",
                    sig.side,
                    sig.symbol,
                    client_id,
                    time.monotonic() - w.received,
                )
                continue
            await self._for_client(client_id, params, sig, None)
            done += 1
        # what no client waits for any more goes
        self.waiting = deque(w for w in self.waiting if w.clients)
        return done

    def _expire(self) -> None:
        # kept twice the TTL: a take-over then tells an expired signal (counted)
        # from one that never waited for it; older ones go silently (another
        # live worker owned those clients and traded them)
        cutoff = time.monotonic() - 2 * self.ttl_s
        while self.waiting and (self.waiting[0].received < cutoff or not self.waiting[0].clients):
            self.waiting.popleft()

    async def _for_client(
        self,
        client_id: int,
        params: BotParameters,
        sig: SignalGenerated,
        top: list[str] | None,
    ) -> list[str] | None:
        """Trade the signal for one client; the scanner's ranking, read once per signal."""
        if not trades_strategy(params, sig):
            return top
        if sig.symbol not in params.symbols:
            wanted = [int(x[len(SCANNER) :]) for x in params.symbols if x.startswith(SCANNER)]
            if not wanted:
                return top
            # a scanner bot's position is closed by its SELL even if the symbol
            # has left the top N since it was opened
            exiting = sig.side == "SELL" and self.positions.in_symbol(client_id, sig.symbol)
            if not exiting:
                if top is None:
                    top = await self._scanner_top(sig.interval)
                if sig.symbol not in top[: max(wanted)]:
                    return top
        held = self.positions.in_symbol(client_id, sig.symbol)
        if sig.side == "SELL":
            for trade_id in held:
                with contextlib.suppress(Refusal):
                    await self.close_on_signal(client_id, trade_id, sig.generated_at)
            return top
        if held:
            log.info("signal BUY %s for client %d: a position is open", sig.symbol, client_id)
            return top
        try:
            await self.entries.execute(
                client_id,
                TradeOrder(
                    symbol=sig.symbol,
                    side="BUY",
                    type="MARKET",
                    reference_price=dec(sig.price),
                    after_ms=sig.generated_at,
                    interval=sig.interval,
                ),
                origin="signal",
            )
            self.traded += 1
        except Refusal as exc:
            log.info("signal %s %s for client %d refused: %s", sig.side, sig.symbol, client_id, exc)
        return top

    async def _scanner_top(self, interval: str) -> list[str]:
        """The scanner's ranking now (empty when it cannot be read: no scanner bot trades)."""
        if self.scanner is None:
            log.warning("a bot trades scanner:N but no market scanner is connected")
            return []
        try:
            return await self.scanner(interval, 1000)
        except Exception as exc:  # the market service is down: scanner bots wait
            log.warning("the market scanner could not be read (%s)", exc)
            return []

    async def close_on_signal(self, client_id: int, trade_id: int, after_ms: int) -> None:
        """Close a position because of a signal.

        On an exchange: at the market now. On paper: a MARKET order that
        fills at the first trade after the signal's candle (as the
        backtester's ``exit_on_opposite``); the stops keep running until then.
        """
        t = await self.manual.trade_of(client_id, trade_id)
        tracked = self.orders.monitor.positions.get(trade_id)
        if t.status != "open" or tracked is None:
            raise Conflict("not_open", f"trade {trade_id} is {t.status}")
        if not isinstance(tracked.exchange, PaperExchange):
            await self.manual.close(client_id, trade_id, reason="signal")
            return
        await self.orders.place_signal_exit(t, tracked, after_ms)
