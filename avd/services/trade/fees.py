"""The platform fees owed to the Client service, charged as soon as it answers (an outbox).

When a trade closes, its fee is written as owed in the same transaction
(:func:`avd.store.fees_due.owe`), then charged at once. If the Client service
cannot be reached, the fee stays owed and a background task tries again
every :attr:`FeeOutbox.retry_s` seconds (and at every start), oldest first.
The Client service charges each ``trade_ref`` once, so a retry after a lost
answer never charges twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from avd.domain.errors import Refusal, Unavailable
from avd.domain.gateways import ClientGateway, FeeCharge
from avd.store import fees_due
from avd.store import trades as repo
from avd.store.database import Database

log = logging.getLogger(__name__)


def fmt(v: Any) -> str:
    """A plain decimal string."""
    return f"{v.normalize():f}" if v else "0"


class FeeOutbox:
    """Charges the fees owed, now or as soon as the Client service answers again."""

    def __init__(self, db: Database, gateway: ClientGateway, *, retry_s: float = 5.0) -> None:
        self.db = db
        self.gateway = gateway
        self.retry_s = retry_s
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.last_error = ""

    def start(self) -> None:
        """Retry the owed fees in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fee-outbox")

    async def stop(self) -> None:
        """Stop retrying (what is owed stays owed, in the database)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.flush()
            except Exception:  # never let a bug stop the retries
                log.exception("fee outbox")
            await asyncio.sleep(self.retry_s)

    async def owed(self) -> int:
        """How many fees are still owed."""
        async with self.db.read() as s:
            return await fees_due.count_owed(s)

    async def flush(self, trade_id: int | None = None) -> int:
        """Charge what is owed (one trade's fee, or every one); how many were charged."""
        async with self._lock:
            async with self.db.read() as s:
                rows = await fees_due.owed(s, trade_id)
            done = 0
            for row in rows:
                charge = FeeCharge(
                    client_id=row.client_id,
                    trade_ref=row.trade_ref,
                    symbol=row.symbol,
                    notional=row.notional,
                    profit=row.profit,
                )
                try:
                    answer = await self.gateway.charge_fee(charge)
                except Refusal as exc:
                    self.last_error = f"{exc.rule}: {exc.detail}"
                    async with self.db.write() as s:
                        await fees_due.failed(s, row.trade_id, self.last_error)
                    if isinstance(exc, Unavailable):
                        log.warning("fees owed: the client service is unavailable (%s)", exc)
                        break  # the others would fail the same way: next round
                    log.warning("fee of trade %d refused: %s", row.trade_id, exc)
                    continue
                async with self.db.write() as s:
                    await fees_due.charged(s, row.trade_id)
                    await repo.log(
                        s,
                        row.trade_id,
                        "fee_charged",
                        fee=fmt(answer.charged),
                        shortfall=fmt(answer.shortfall),
                        duplicate=answer.duplicate,
                    )
                self.last_error = ""
                done += 1
            return done
