from __future__ import annotations

from pathlib import Path

import pytest

from avd.history import Candles, read_candles

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared real-data folder is missing: {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def btc_1m(shared_data: Path) -> Candles:
    return read_candles(shared_data / "BTCUSDT-1m.csv.gz")


@pytest.fixture(scope="session")
def btc_1h(shared_data: Path) -> Candles:
    return read_candles(shared_data / "BTCUSDT-1h.csv.gz")
