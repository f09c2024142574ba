"""Binance's error answer ``{"code", "msg"}`` with its HTTP status."""

from __future__ import annotations


class BinanceError(Exception):
    """An error answered as Binance does: HTTP ``status`` and JSON ``{code, msg}``."""

    def __init__(
        self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}


def mandatory(name: str) -> BinanceError:
    """-1102 for a missing parameter."""
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str) -> BinanceError:
    """-1100 for a malformed parameter."""
    return BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")


def filter_failure(name: str) -> BinanceError:
    """-1013 for a failed symbol filter."""
    return BinanceError(-1013, f"Filter failure: {name}")


def invalid_symbol() -> BinanceError:
    """-1121: Invalid symbol."""
    return BinanceError(-1121, "Invalid symbol.")


def insufficient() -> BinanceError:
    """-2010: Account has insufficient balance for requested action."""
    return BinanceError(-2010, "Account has insufficient balance for requested action.")


def duplicate() -> BinanceError:
    """-2010: Duplicate order sent."""
    return BinanceError(-2010, "Duplicate order sent.")


def would_trigger() -> BinanceError:
    """-2010: Order would trigger immediately."""
    return BinanceError(-2010, "Order would trigger immediately.")


def would_take() -> BinanceError:
    """-2010: Order would immediately match and take."""
    return BinanceError(-2010, "Order would immediately match and take.")


def unknown_order() -> BinanceError:
    """-2011: Unknown order sent."""
    return BinanceError(-2011, "Unknown order sent.")


def no_such_order() -> BinanceError:
    """-2013: Order does not exist."""
    return BinanceError(-2013, "Order does not exist.")
