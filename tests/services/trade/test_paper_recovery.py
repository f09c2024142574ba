"""Paper orders that were waiting survive a restart (the paper exchange lives in memory).

A signal's market entry waits for the next candle's first trade, a limit
entry for its price, a signal exit for the next candle: after a restart on
the same database each waits again, under the same client order id, and
fills where it would have filled (worked by hand from the candles given).
"""

from __future__ import annotations

from decimal import Decimal as Dec
from pathlib import Path

from avd.domain.events import KlineReceived
from avd.services.trade.engine import TradeOrder
from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_engine import sim_price

T0 = 1_900_000_020_000  # a whole minute, after anything the paused simulator sends


def candle(open_time: int, o: Dec, h: Dec, lo: Dec, c: Dec) -> KlineReceived:
    return KlineReceived(
        symbol="BTCUSDT",
        interval="1m",
        open_time=open_time,
        open=float(o),
        high=float(h),
        low=float(lo),
        close=float(c),
        volume=10.0,
        closed=True,
    )


def test_waiting_paper_orders_wait_again_after_a_restart(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        cid, _ = await stack.client("wait@example.com")
        price = await sim_price(sim)
        stop = price - 2000
        # a signal entry decided at the close of the candle before T0 ...
        signal = await stack.engine.execute(
            cid,
            TradeOrder(
                "BTCUSDT",
                "BUY",
                quote_amount=Dec(100),
                stop_loss=stop,
                reference_price=price,
                after_ms=T0 - 1,
            ),
            origin="signal",
        )
        # ... and a limit entry 500 below the market
        limit = await stack.engine.execute(
            cid,
            TradeOrder(
                "BTCUSDT",
                "BUY",
                type="LIMIT",
                price=price - 500,
                quote_amount=Dec(100),
                stop_loss=stop,
            ),
        )
        assert (signal.status, limit.status) == ("pending", "pending")
        await close_stack(stack)  # the process goes; its paper orders with it

        again = await make_stack(tmp_path, sim)
        try:
            rec = again.engine.reconciliation
            assert (rec.restored_orders, rec.flagged) == (2, [])
            # the next candle opens at price + 10 and dips to price - 600
            await again.hub.publish(candle(T0, price + 10, price + 20, price - 600, price - 100))
            await again.hub.drain()
            s = await again.engine.trade_of(cid, signal.id)
            li = await again.engine.trade_of(cid, limit.id)
            # the signal entry fills at the candle's open, the limit at its price
            assert (s.status, s.entry_price) == ("open", price + 10)
            assert (li.status, li.entry_price) == ("open", price - 500)
            # a SELL signal at the close of that candle: the exit waits for the next
            await again.engine.signals.close_on_signal(cid, s.id, T0 + 60_000 - 1)
        finally:
            await close_stack(again)

        third = await make_stack(tmp_path, sim)
        try:
            assert third.engine.reconciliation.restored_orders == 1
            await third.hub.publish(
                candle(T0 + 60_000, price + 50, price + 60, price + 40, price + 55)
            )
            await third.hub.drain()
            s = await third.engine.trade_of(cid, signal.id)
            assert (s.status, s.close_reason, s.exit_price) == ("closed", "signal", price + 50)
            li = await third.engine.trade_of(cid, limit.id)
            assert li.status == "open"  # a signal exit closes only its own trade
        finally:
            await close_stack(third)

    run(go())
