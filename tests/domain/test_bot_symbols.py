"""A bot trades symbols, or ``scanner:N``: the market scanner's top N."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from avd.domain.parameters import BotParameters


def test_scanner_entries_are_taken_and_normalised() -> None:
    p = BotParameters(symbols=["BTCUSDT", "scanner:10", "SCANNER:3"])
    assert p.symbols == ["BTCUSDT", "scanner:10", "scanner:3"]


@pytest.mark.parametrize("bad", ["scanner:0", "scanner:x", "scanner:1000", "scanner:", "btc"])
def test_bad_entries_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        BotParameters(symbols=[bad])
