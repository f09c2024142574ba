"""Market regimes per stream: a Gaussian HMM refitted on a rolling window, filtered live.

For each tracked stream (symbol, interval) the service keeps the newest
closes and, from them, two features per closed candle: the log return and
the realized volatility (the standard deviation of the last
``vol_window`` log returns), both in basis points. Every ``refit_every`` closed candles (and once
the window is first full) it fits :class:`avd.regimes.GaussianHMM` on the
window in a worker thread: ``starts`` random starts (seeds 0, 1, ...), the
best log-likelihood kept, a non-converged fit logged. The states are then
ordered by their mean volatility feature and named from calm to volatile
(``calm``/``volatile`` for two states, ``calm``/``normal``/``volatile`` for
three; ``state 0``.. otherwise), so "calm" stays "calm" across refits
whatever order the fit found them in.

Between refits the causal forward filter (:class:`avd._core.RegimeFilter`,
Rust, O(K^2) per candle) is advanced on every closed candle: the
probabilities at a candle use that candle and the ones before only, as a
backtest would. A refit replays the window through the new filter, so the
probabilities continue from the same candles.

The regime is information: it does not change the context score or the
signals (the engine's scoring is the same with and without it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from avd.regimes import GaussianHMM

log = logging.getLogger(__name__)

Key = tuple[str, str]


class RegimeSettings(BaseModel):
    """How the market service detects regimes (``market.regimes`` in the configuration)."""

    model_config = {"extra": "forbid", "frozen": True}

    enabled: bool = True
    states: int = Field(3, ge=2, le=5)
    #: closed candles the model is fitted on (the newest)
    window: int = Field(500, ge=100, le=10_000)
    #: closed candles between two refits
    refit_every: int = Field(60, ge=1, le=10_000)
    #: log returns the realized volatility is measured over
    vol_window: int = Field(20, ge=2, le=500)
    #: random starts per fit (the best log-likelihood is kept)
    starts: int = Field(3, ge=1, le=20)
    n_iter: int = Field(50, ge=1, le=1000)


def state_names(k: int) -> list[str]:
    """Names of ``k`` states ordered from the calmest to the most volatile."""
    if k == 2:
        return ["calm", "volatile"]
    if k == 3:
        return ["calm", "normal", "volatile"]
    return [f"state {i}" for i in range(k)]


#: features are in basis points: hmmlearn's default covariance prior (0.01, an
#: absolute variance) would swamp one-candle returns measured as fractions
BPS = 1e4


def features(closes: np.ndarray[Any, Any], vol_window: int) -> np.ndarray[Any, Any]:
    """(log return, realized volatility) in basis points, one row per usable close.

    A close is usable once ``vol_window`` log returns lie behind it.
    """
    r = np.diff(np.log(closes)) * BPS
    if r.size < vol_window:
        return np.empty((0, 2))
    windows = np.lib.stride_tricks.sliding_window_view(r, vol_window)
    vol = windows.std(axis=1, ddof=1)
    return np.column_stack([r[vol_window - 1 :], vol])


@dataclass
class StreamRegime:
    """One stream's closes, fitted model and filter."""

    settings: RegimeSettings
    closes: deque[float] = field(default_factory=deque)
    model: GaussianHMM | None = None
    #: model state index of each named state, calm first
    order: list[int] = field(default_factory=list)
    filter: Any = None
    since_fit: int = 0
    #: closed candles added so far (the fit knows which ones it saw)
    seen: int = 0
    fitted_at: float | None = None
    converged: bool | None = None
    refitting: bool = False

    def __post_init__(self) -> None:
        s = self.settings
        self.closes = deque(maxlen=s.window + s.vol_window + 1)
        self.returns: deque[float] = deque(maxlen=s.vol_window)

    def add(self, close: float) -> None:
        """One closed candle: advance the filter (O(vol_window) in Python, O(K^2) in Rust)."""
        if not (close > 0 and math.isfinite(close)):
            return
        if self.closes:
            self.returns.append(math.log(close / self.closes[-1]) * BPS)
        self.closes.append(close)
        self.since_fit += 1
        self.seen += 1
        n = len(self.returns)
        if self.filter is not None and n == self.settings.vol_window:
            mean = math.fsum(self.returns) / n
            vol = math.sqrt(math.fsum((r - mean) ** 2 for r in self.returns) / (n - 1))
            self.filter.update(np.array((self.returns[-1], vol)))

    def due(self) -> bool:
        """Whether a refit should start now."""
        s = self.settings
        full = len(self.closes) >= s.window // 2 + s.vol_window + 1
        return (
            full and not self.refitting and (self.model is None or self.since_fit >= s.refit_every)
        )

    def fit(self, closes: np.ndarray[Any, Any]) -> tuple[GaussianHMM, list[int], Any, bool]:
        """Fit on ``closes`` (in a worker thread); the best of the random starts."""
        s = self.settings
        x = features(closes, s.vol_window)
        best: GaussianHMM | None = None
        best_score = -math.inf
        for seed in range(s.starts):
            m = GaussianHMM(s.states, "diag", n_iter=s.n_iter, random_state=seed)
            try:
                m.fit(x)
                score = m.score(x)
            except (ValueError, ArithmeticError) as e:
                log.warning("regime fit (seed %d) failed: %s", seed, e)
                continue
            if score > best_score:
                best, best_score = m, score
        if best is None:
            raise ValueError("no start of the regime fit succeeded")
        order = [int(i) for i in np.argsort(best.means_[:, 1])]
        flt = best.regime_filter()
        for row in x:
            flt.update(row)
        return best, order, flt, bool(best.monitor_.converged)

    def view(self) -> dict[str, Any] | None:
        """The states, transitions and current probabilities, calm first (None before a fit)."""
        if self.model is None or self.filter is None:
            return None
        names = state_names(len(self.order))
        o = self.order
        probs = np.asarray(self.filter.probabilities)[o]
        covars = np.asarray(self.model.covars_)  # (K, D, D), as hmmlearn gives them
        states = []
        for name, i in zip(names, o, strict=True):
            var_r = float(covars[i, 0, 0])
            states.append(
                {
                    "label": name,
                    "mean_return_bps": float(self.model.means_[i, 0]),
                    "return_std_bps": math.sqrt(var_r),
                    "volatility_bps": float(self.model.means_[i, 1]),
                }
            )
        trans = np.asarray(self.model.transmat_)[np.ix_(o, o)]
        k = int(np.argmax(probs))
        return {
            "states": states,
            "transmat": trans.tolist(),
            "probabilities": {n: float(p) for n, p in zip(names, probs, strict=True)},
            "most_likely": names[k],
            "fitted_at": self.fitted_at,
            "converged": self.converged,
            "candles": len(self.closes),
        }


class RegimeBook:
    """Every stream's regime; refits run in worker threads, one at a time per stream."""

    def __init__(self, settings: RegimeSettings | None = None) -> None:
        self.settings = settings or RegimeSettings()
        self.streams: dict[Key, StreamRegime] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _stream(self, key: Key) -> StreamRegime:
        st = self.streams.get(key)
        if st is None:
            st = self.streams[key] = StreamRegime(self.settings)
        return st

    def load(self, key: Key, closes: Any) -> None:
        """A batch of history (warm-up): the closes, and a fit when due."""
        if not self.settings.enabled:
            return
        st = self._stream(key)
        keep = st.closes.maxlen or 0
        for c in np.asarray(closes, dtype=np.float64)[-keep:]:
            st.add(float(c))
        self._maybe_refit(key, st)

    def on_close(self, key: Key, close: float) -> None:
        """One closed candle of ``key``."""
        if not self.settings.enabled:
            return
        st = self._stream(key)
        st.add(close)
        self._maybe_refit(key, st)

    def _maybe_refit(self, key: Key, st: StreamRegime) -> None:
        if not st.due():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        st.refitting = True
        task = loop.create_task(self._refit(key, st))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refit(self, key: Key, st: StreamRegime) -> None:
        closes = np.fromiter(st.closes, float)
        seen = st.seen
        try:
            model, order, flt, converged = await asyncio.to_thread(st.fit, closes)
        except Exception as e:  # a failed fit keeps the previous model
            log.warning("regime refit of %s %s failed: %s", *key, e)
            st.since_fit = 0
            return
        finally:
            st.refitting = False
        # the candles that closed while the fit ran: through the new filter too
        late = st.seen - seen
        if late:
            for row in features(np.fromiter(st.closes, float), st.settings.vol_window)[-late:]:
                flt.update(row)
        st.model, st.order, st.filter = model, order, flt
        st.since_fit, st.fitted_at, st.converged = 0, time.time(), converged
        if not converged:
            log.info("regime fit of %s %s did not converge in %d iterations", *key, model.n_iter)

    def label(self, key: Key) -> str | None:
        """The most likely regime of ``key`` now (None before its first fit)."""
        st = self.streams.get(key)
        view = None if st is None else st.view()
        return None if view is None else str(view["most_likely"])

    def view(self, key: Key) -> dict[str, Any] | None:
        """What ``GET /symbols/{symbol}/regime`` shows for ``key``."""
        st = self.streams.get(key)
        return None if st is None else st.view()

    async def stop(self) -> None:
        """Wait for the refits in flight (they are short) or cancel them."""
        for t in list(self._tasks):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
