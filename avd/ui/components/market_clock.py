"""The market's clock against the wall clock, to place a trade's time on a candle chart.

Trades carry wall-clock times; candles carry the market's. Live, the two
are the same clock. A replay (the offline simulator) plays old candles at
its own speed, so the pages learn the relation from what the market
stream says: each context event names the wall time its kline was sent
(``kline_event_time``) and the market time of its candle (``timestamp``).
Between two such pairs a time is interpolated; beyond them it is
extrapolated at the pace they show.
"""

from __future__ import annotations

import bisect
from collections import deque

#: a market clock this close to the wall clock is the wall clock (live trading)
SAME_CLOCK_MS = 5 * 60_000
#: pairs kept (one a candle close is plenty)
KEEP = 2000


class MarketClock:
    """Pairs of (wall time, market time), in milliseconds, as the stream reported them."""

    def __init__(self) -> None:
        self._pairs: deque[tuple[float, float]] = deque(maxlen=KEEP)

    def note(self, wall_ms: float, market_ms: float) -> None:
        """One more observation (ignored unless it is newer than the last, on both clocks)."""
        if wall_ms <= 0 or market_ms <= 0:
            return
        if self._pairs and (wall_ms <= self._pairs[-1][0] or market_ms < self._pairs[-1][1]):
            return
        self._pairs.append((wall_ms, market_ms))

    def market_time(self, wall_ms: float) -> float:
        """The market time at the wall time ``wall_ms`` (the same when nothing says otherwise)."""
        pairs = list(self._pairs)
        if not pairs or abs(pairs[-1][0] - pairs[-1][1]) < SAME_CLOCK_MS:
            return wall_ms
        if len(pairs) == 1:
            return pairs[0][1] + (wall_ms - pairs[0][0])
        walls = [w for w, _ in pairs]
        i = bisect.bisect_right(walls, wall_ms)
        (w0, m0), (w1, m1) = (
            (pairs[0], pairs[-1]) if i in (0, len(pairs)) else (pairs[i - 1], pairs[i])
        )
        pace = (m1 - m0) / (w1 - w0)
        return m0 + (wall_ms - w0) * pace


#: the one clock of the UI process (every page that reads the market stream feeds it)
CLOCK = MarketClock()
