from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    # python-binance 1.0.37 imports websockets' legacy client, deprecated upstream
    warnings.simplefilter("ignore", DeprecationWarning)
    import binance  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/orchestrator" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning"))
