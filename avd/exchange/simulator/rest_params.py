"""The request parameters of the simulator's REST API, checked as Binance checks them.

A handler takes ``(sim, params, account)``; these helpers read its symbol
(or symbols), integer parameters and ``limit``, with Binance's error codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from .accounts import Account
from .errors import BinanceError, invalid_symbol, mandatory
from .market import SymbolMarket

if TYPE_CHECKING:
    from .runtime import Simulator

Handler = Callable[["Simulator", dict[str, str], Account | None], Any]


def symbol_param(sim: Simulator, params: dict[str, str]) -> SymbolMarket:
    """The replayed symbol of ``symbol`` (mandatory; -1121 when not replayed)."""
    s = params.get("symbol", "")
    if not s:
        raise mandatory("symbol")
    sm = sim.market.get(s.upper())
    if sm is None:
        raise invalid_symbol()
    return sm


def symbols_param(sim: Simulator, params: dict[str, str]) -> list[SymbolMarket] | None:
    """The symbols of ``symbols`` (a JSON list; all when absent), None when ``symbol`` is given."""
    if params.get("symbol"):
        return None
    raw = params.get("symbols")
    if not raw:
        return list(sim.market.symbols.values())
    try:
        names = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    out = []
    for n in names:
        sm = sim.market.get(str(n))
        if sm is None:
            raise invalid_symbol()
        out.append(sm)
    return out


def int_param(params: dict[str, str], name: str) -> int | None:
    """The integer parameter ``name`` (None when absent or empty; -1100 when not a number)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.lstrip("-").isdigit():
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    return int(raw)


def limit_param(params: dict[str, str], default: int, most: int) -> int:
    """``limit``, ``default`` when absent, clamped to ``1..most``."""
    v = int_param(params, "limit")
    return default if v is None else max(1, min(v, most))


def for_each_symbol(sim: Simulator, p: dict[str, str], fn: Callable[[SymbolMarket], Any]) -> Any:
    """``fn`` of the one ``symbol``, or the list of ``fn`` over ``symbols`` (or every symbol)."""
    many = symbols_param(sim, p)
    if many is None:
        return fn(symbol_param(sim, p))
    return [fn(sm) for sm in many]
