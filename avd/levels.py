"""Entry levels: pivot points, swings, Fibonacci grids, support/resistance zones, confluence.

NumPy arrays in, dicts of NumPy arrays (or plain dicts) out; the work runs in
Rust (``avd._core``) with the GIL released. The formulas are documented on
each function and in the README ("Entry levels: avd.levels").

Errors: lists and other sequences are accepted; non-numeric input raises
:class:`TypeError`; arrays of different lengths, NaN or infinite prices, a
high below its low, ``left``/``right`` below 1 and an unknown ``method``,
``trend`` or ``mode`` raise :class:`ValueError` (as
:class:`avd._core.InvalidInputError` or
:class:`avd._core.InvalidParameterError`) naming the culprit.

:class:`LevelTracker` is the streaming form (one closed candle per
``update``, bounded work): after the same candles its zones equal
:func:`support_resistance`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avd import _core
from avd._core import LevelTracker
from avd.indicators._args import float_arg, int_arg, series_arg
from avd.types import FloatArray, IntArray

__all__ = [
    "LevelTracker",
    "confluence",
    "fibonacci",
    "pivots",
    "support_resistance",
    "swings",
]


def pivots(high: Any, low: Any, close: Any, method: str = "classic") -> dict[str, FloatArray]:
    """Compute pivot points, row ``i`` from row ``i``'s high, low and close.

    Pass the previous period's candles (e.g. yesterday's daily candle for
    today's pivots): nothing is shifted here. With ``H``, ``L``, ``C`` and
    ``R = H - L``:

    * ``classic``: ``P = (H+L+C)/3``, ``R1 = 2P-L``, ``S1 = 2P-H``,
      ``R2 = P+R``, ``S2 = P-R``, ``R3 = H+2(P-L)``, ``S3 = L-2(H-P)``;
    * ``fibonacci``: classic ``P``; ``R1..R3 = P + 0.382R, 0.618R, 1.000R``,
      ``S1..S3 = P - ...`` the same;
    * ``camarilla``: classic ``P``; ``R1..R4 = C + 1.1R/12, /6, /4, /2``,
      ``S1..S4 = C - ...`` the same;
    * ``woodie``: ``P = (H+L+2C)/4``, then the classic R/S formulas.

    Returns
    -------
    dict
        ``P``, ``R1``..``R3``, ``S1``..``S3`` (camarilla also ``R4``,
        ``S4``), each a float64 array as long as the input.
    """
    return _core.pivots(
        series_arg("high", high), series_arg("low", low), series_arg("close", close), method
    )


def swings(high: Any, low: Any, left: int = 2, right: int = 2) -> dict[str, IntArray]:
    """Find fractal swing highs and lows.

    Bar ``i`` is a swing high when ``high[i]`` is strictly greater than each
    of the ``left`` highs before it and the ``right`` highs after it (a swing
    low: ``low[i]`` strictly less than its neighbours' lows). An equal high
    (low) within the arms disqualifies the bar, so a flat top of equal highs
    is no swing. The first ``left`` and last ``right`` bars are never swings;
    a series shorter than ``left + right + 1`` has none. A swing at ``i`` is
    known only once bar ``i + right`` has closed.

    Returns
    -------
    dict
        ``highs`` and ``lows``: ascending int64 bar indexes.
    """
    highs, lows = _core.swings(
        series_arg("high", high),
        series_arg("low", low),
        int_arg("left", left),
        int_arg("right", right),
    )
    return {"highs": highs, "lows": lows}


def fibonacci(high_price: float, low_price: float, trend: str = "up") -> dict[float, float]:
    """Compute the Fibonacci grid of one swing.

    With ``R = high_price - low_price``: retracements ``r`` in 0.236, 0.382,
    0.5, 0.618, 0.786 at ``high - r*R`` when ``trend="up"`` (the swing rose)
    and ``low + r*R`` when ``trend="down"``; extensions 1.272 and 1.618
    beyond the swing's end, at ``low + r*R`` up and ``high - r*R`` down.

    Returns
    -------
    dict
        ratio -> price, the five retracements then the two extensions.
    """
    return _core.fibonacci(
        float_arg("high_price", high_price), float_arg("low_price", low_price), trend
    )


def support_resistance(
    high: Any,
    low: Any,
    close: Any,
    *,
    left: int = 2,
    right: int = 2,
    tolerance: float = 0.5,
    mode: str = "atr",
    atr_period: int = 14,
    max_zones: int = 50,
    min_touches: int = 1,
) -> dict[str, NDArray[Any]]:
    """Cluster swing highs and lows into support/resistance zones.

    The swings (see :func:`swings`) are taken in the order they are
    confirmed. Each one's tolerance is ``tolerance * ATR(atr_period)`` at the
    confirming bar (``mode="atr"``; swings confirmed before the ATR is ready
    are skipped) or ``tolerance`` percent of its price (``mode="percent"``).
    It joins the zone whose center (the mean of its touches) is nearest, when
    within the tolerance, else opens a new zone; a zone that moved within the
    tolerance of another merges with it. Past ``max_zones`` the zone touched
    least recently is dropped.

    Returns
    -------
    dict
        Columns, one row per zone with at least ``min_touches`` touches,
        sorted by center: ``center``, ``low``, ``high`` (the extreme touch
        prices), ``touches``, ``high_touches``, ``low_touches``,
        ``first_index``, ``last_index`` and ``support`` (True when the center
        is below the last close; a resistance otherwise).
    """
    return _core.support_resistance(
        series_arg("high", high),
        series_arg("low", low),
        series_arg("close", close),
        int_arg("left", left),
        int_arg("right", right),
        float_arg("tolerance", tolerance),
        mode,
        int_arg("atr_period", atr_period),
        int_arg("max_zones", max_zones),
        int_arg("min_touches", min_touches),
    )


def _last(name: str, value: Any) -> float:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return float(a)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"pivot `{name}` must be a number or a non-empty 1-D array")
    return float(a[-1])


def confluence(
    *,
    zones: Mapping[str, Any] | None = None,
    pivots: Mapping[str, Any] | None = None,
    fibonacci: Mapping[float, float] | None = None,
    tolerance: float = 0.5,
    mode: str = "percent",
    min_kinds: int = 2,
) -> list[dict[str, Any]]:
    """Find the prices where several kinds of level meet, scored.

    Parameters
    ----------
    zones
        :func:`support_resistance`'s output: each zone's ``center`` counts
        with a strength of its ``touches``.
    pivots
        Level name -> price, or :func:`pivots`' output (the last row is
        used: pass the previous period's candle). Strength 1 each.
    fibonacci
        :func:`fibonacci`'s output. Strength 1 each.
    tolerance, mode
        How close levels meet: ``tolerance`` percent of the cluster's lowest
        price (``mode="percent"``) or a price distance (``"absolute"``).
    min_kinds
        The fewest distinct kinds (zone, pivot, fibonacci) in a zone, 1..3.

    Returns
    -------
    list of dict
        Sorted by ``score`` (highest first): ``price`` (mean of the
        members), ``low``, ``high``, ``score``, ``kinds`` and ``levels``
        (``kind``, ``label``, ``price``, ``strength`` of each member). The
        levels sorted by price are swept upwards; a cluster takes every level
        within the tolerance of its lowest one. Score = number of distinct
        kinds x sum of the members' strengths.
    """
    levels: list[tuple[str, str, float, float]] = []
    if zones is not None:
        centers = series_arg("zones['center']", zones["center"])
        touches = series_arg("zones['touches']", zones["touches"])
        support = zones.get("support")
        for k, (c, t) in enumerate(zip(centers, touches, strict=True)):
            role = "zone" if support is None else ("support" if support[k] else "resistance")
            levels.append(("zone", f"{role} ({int(t)} touches)", float(c), float(t)))
    if pivots is not None:
        for name, value in pivots.items():
            levels.append(("pivot", f"pivot {name}", _last(name, value), 1.0))
    if fibonacci is not None:
        for ratio, price in fibonacci.items():
            levels.append(("fibonacci", f"fib {float(ratio):g}", float(price), 1.0))
    return _core.confluence(
        levels, float_arg("tolerance", tolerance), mode, int_arg("min_kinds", min_kinds)
    )
