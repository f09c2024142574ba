"""The local Binance-compatible simulator (``avd sim``).

Replays recorded candles as Binance's REST API, market streams and WebSocket
API on 127.0.0.1, matches orders with a fill model and keeps per-key balances,
so the unmodified python-binance client can trade against it offline.
"""

from .config import AccountConfig, FaultConfig, SimConfig
from .runtime import Simulator
from .server import BackgroundSimulator, create_app, running, serve

__all__ = [
    "AccountConfig",
    "BackgroundSimulator",
    "FaultConfig",
    "SimConfig",
    "Simulator",
    "create_app",
    "running",
    "serve",
]
