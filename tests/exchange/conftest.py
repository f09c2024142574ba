"""The exchange tests run against a paused simulator (the trade service's fixture)."""

from tests.services.trade.conftest import sim  # noqa: F401  (a fixture)
