"""The symbols a market service tracks: named ones and universe selectors.

``market.symbols`` lists Binance symbols (``BTCUSDT``) and may also hold
*selectors*: ``*USDT`` stands for every symbol of the exchange's
``exchangeInfo`` whose quote asset is USDT, whose ``status`` is ``TRADING``
and that allows spot trading (``isSpotTradingAllowed``, where the field is
given). Any quote asset works the same way (``*FDUSD``, ``*BTC``).

Live on Binance the default is ``["*USDT"]``: the market scanner's universe
is every trading USDT pair. With the simulator the default is every symbol it
replays (and ``*USDT`` selects among those). Selectors are expanded once, when
the collector has loaded ``exchangeInfo`` at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: what starts a universe selector
SELECTOR = "*"
#: the universe of the live scanner when no symbol is configured
LIVE_DEFAULT = ("*USDT",)


def is_selector(entry: str) -> bool:
    """Whether ``entry`` is a selector (``*USDT``) rather than a symbol."""
    return entry.startswith(SELECTOR)


def valid_entry(entry: str) -> bool:
    """A Binance symbol or a selector: upper-case letters and digits after an optional ``*``."""
    body = entry[len(SELECTOR) :] if is_selector(entry) else entry
    return bool(body) and body.isalnum() and body.isupper()


def tradable(info: Mapping[str, Any], quote: str) -> bool:
    """Whether an ``exchangeInfo`` symbol is a trading spot pair quoted in ``quote``."""
    return (
        info.get("quoteAsset") == quote
        and info.get("status") == "TRADING"
        and info.get("isSpotTradingAllowed", True) is not False
    )


def expand(entries: Iterable[str], exchange_info: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The symbols ``entries`` name, in order, each once.

    Named symbols come as given (the collector refuses unlisted ones);
    a selector adds its pairs sorted by name.
    """
    out: dict[str, None] = {}
    for entry in entries:
        if is_selector(entry):
            quote = entry[len(SELECTOR) :]
            for name in sorted(n for n, info in exchange_info.items() if tradable(info, quote)):
                out.setdefault(name)
        else:
            out.setdefault(entry)
    return list(out)


def named(entries: Iterable[str]) -> list[str]:
    """The symbols named outright (selectors left out)."""
    return [e for e in entries if not is_selector(e)]
