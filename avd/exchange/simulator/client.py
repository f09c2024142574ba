"""python-binance classes pointed at a simulator, as binance-protocol.md section 1 shows.

python-binance is imported lazily (it is not a runtime dependency of the
simulator itself).
"""

from __future__ import annotations

from typing import Any


class SimClient:
    """Factory of python-binance classes bound to one simulator address."""

    def __init__(self, address: str) -> None:
        self.address = address.removeprefix("http://").rstrip("/")

    def async_client_class(self) -> type[Any]:
        """An ``AsyncClient`` subclass whose REST and WS API URLs are the simulator's."""
        from binance import AsyncClient

        addr = self.address
        return type(
            "SimAsyncClient",
            (AsyncClient,),
            {
                "API_URL": f"http://{addr}/api",
                "WS_API_URL": f"ws://{addr}/ws-api/v3",
                # the long/short ratios: Binance's futures data API, served by the simulator
                "FUTURES_DATA_URL": f"http://{addr}/futures/data",
            },
        )

    def client_class(self) -> type[Any]:
        """A sync ``Client`` subclass pointed at the simulator."""
        from binance import Client

        addr = self.address
        return type(
            "SimSyncClient",
            (Client,),
            {
                "API_URL": f"http://{addr}/api",
                "WS_API_URL": f"ws://{addr}/ws-api/v3",
                # the long/short ratios: Binance's futures data API, served by the simulator
                "FUTURES_DATA_URL": f"http://{addr}/futures/data",
            },
        )

    def socket_manager_class(self) -> type[Any]:
        """A ``BinanceSocketManager`` subclass streaming from the simulator."""
        from binance import BinanceSocketManager

        return type(
            "SimSocketManager", (BinanceSocketManager,), {"STREAM_URL": f"ws://{self.address}/"}
        )

    async def create(self, api_key: str | None = None, api_secret: str | None = None) -> Any:
        """``await SimAsyncClient.create(key, secret)`` (pings and syncs time)."""
        return await self.async_client_class().create(api_key, api_secret)

    def socket_manager(self, client: Any, **kwargs: Any) -> Any:
        """A socket manager for ``client``."""
        return self.socket_manager_class()(client, **kwargs)
