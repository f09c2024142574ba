"""The trade engine with real components: Client service, paper and simulator exchanges."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP
from decimal import Decimal as Dec
from pathlib import Path
from typing import Any

import pytest

from avd.domain.errors import Refusal
from avd.domain.events import OrderRejected, TradeClosed, TradePlaced
from avd.services.trade.plans import TradeOrder
from avd.web.errors import status_of
from tests.services.trade.conftest import Sim, close_stack, make_stack, run


async def sim_price(sim: Sim, symbol: str = "BTCUSDT") -> Dec:
    """The simulator's own last price (independent of the engine)."""
    c = await sim.create()
    try:
        return Dec((await c.get_symbol_ticker(symbol=symbol))["price"])
    finally:
        await c.close_connection()


def test_paper_market_trade_by_quote_amount(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, _ = await stack.client("a@example.com")
            price = await sim_price(sim)
            t = await stack.engine.execute(
                cid,
                TradeOrder("BTCUSDT", "BUY", quote_amount=Dec("100"), stop_loss=price - 1000),
            )
            await stack.hub.drain()
            qty = (Dec(100) / price).quantize(Dec("0.00001"), ROUND_DOWN)
            fee = (qty * Dec("0.001")).quantize(Dec("0.00000001"), ROUND_UP)
            net = (qty - fee).quantize(Dec("0.00001"), ROUND_DOWN)
            assert (t.status, t.mode, t.entry_price, t.quantity) == ("open", "paper", price, net)
            placed = [e for e in stack.events if isinstance(e, TradePlaced)]
            assert [(e.trade_id, Dec(e.quantity), e.mode) for e in placed] == [(t.id, net, "paper")]
            bal = await stack.engine.paper[cid].balances()
            assert bal["USDT"].free == Dec(10000) - qty * price  # paper ledger in Decimal
            assert bal["BTC"].free == qty - fee
            assert stack.engine.monitor.stop_of(t.id) == price - 1000
        finally:
            await close_stack(stack)

    run(go())


def test_rejections_leave_nothing_open(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(
            tmp_path,
            sim,
            risk={
                "max_exposure_per_symbol_percent": "100000",
                "max_total_exposure_percent": "100000",
            },
        )
        try:
            cid, _ = await stack.client("b@example.com")
            price = await sim_price(sim)
            with pytest.raises(Refusal) as ei:  # 5 BTC with 10000 USDT of paper money
                await stack.engine.execute(
                    cid, TradeOrder("BTCUSDT", "BUY", quantity=Dec("5"), stop_loss=price - 500)
                )
            # refused before anything is booked: the paper account has not the cash
            assert (status_of(ei.value), ei.value.rule) == (422, "insufficient_funds")
            with pytest.raises(Refusal) as ei:  # 0.00001 BTC is below minNotional 5
                await stack.engine.execute(
                    cid,
                    TradeOrder("BTCUSDT", "BUY", quantity=Dec("0.00001"), stop_loss=price - 500),
                )
            assert ei.value.rule == "filter_failure" and "NOTIONAL" in ei.value.detail
            await stack.hub.drain()
            assert await stack.engine.trades(cid, ("pending", "open"), limit=10, offset=0) == []
            statuses = [t.status for t in await stack.engine.trades(cid, None, limit=10, offset=0)]
            assert statuses == ["rejected"]  # the exchange refused the second one
            assert [e.rule for e in stack.events if isinstance(e, OrderRejected)] == [
                "insufficient_funds",
                "filter_failure",
            ]
            assert stack.engine.monitor.positions == {}
        finally:
            await close_stack(stack)

    run(go())


def test_risk_refusals_name_the_rule_and_numbers(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim, risk={"max_open_positions": 1})
        try:
            cid, _ = await stack.client("c@example.com")
            price = await sim_price(sim)
            with pytest.raises(Refusal) as ei:
                await stack.engine.execute(
                    cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(50), stop_loss=price + 1)
                )
            assert ei.value.rule == "stop_loss_side"
            with pytest.raises(Refusal) as ei:
                await stack.engine.execute(
                    cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(50), leverage=Dec(3))
                )
            assert ei.value.rule == "max_leverage" and ei.value.numbers["max_leverage"] == "1"
            # 1% of 10000 equity over a 1% stop distance = 10000 notional: above 100% exposure?
            t = await stack.engine.execute(
                cid,
                TradeOrder(
                    "BTCUSDT", "BUY", risk_percent=Dec("0.5"), stop_loss=price * Dec("0.99")
                ),
            )
            assert t.status == "open"
            with pytest.raises(Refusal) as ei:
                await stack.engine.execute(cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(50)))
            assert ei.value.rule == "max_open_positions"
            assert ei.value.numbers == {"open_positions": "1", "max_open_positions": "1"}
        finally:
            await close_stack(stack)

    run(go())


def test_kill_switch_closes_everything_and_stops_entries(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            a, _ = await stack.client("k1@example.com")
            b, _ = await stack.client("k2@example.com")
            ta = await stack.engine.execute(a, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(60)))
            tb = await stack.engine.execute(b, TradeOrder("ETHUSDT", "BUY", quote_amount=Dec(60)))
            closed = await stack.engine.kill_switch(True, "test")
            assert sorted(closed) == sorted([ta.id, tb.id])
            await stack.hub.drain()
            reasons = {e.trade_id: e.reason for e in stack.events if isinstance(e, TradeClosed)}
            assert reasons == {ta.id: "kill_switch", tb.id: "kill_switch"}
            with pytest.raises(Refusal) as ei:
                await stack.engine.execute(a, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(60)))
            assert ei.value.rule == "kill_switch"
            await stack.engine.kill_switch(False)
            again = await stack.engine.execute(
                a, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(60))
            )
            assert again.status == "open"
        finally:
            await close_stack(stack)

    run(go())


def _count(rows: list[dict[str, Any]], cid: str) -> int:
    return [r["clientOrderId"] for r in rows].count(cid)


def test_recovery_restores_stops_records_fills_and_flags_the_unknown(
    sim: Sim, tmp_path: Path, database_url: str
) -> None:
    """A restart on the same database (SQLite and PostgreSQL): nothing lost, nothing twice."""

    async def go() -> None:
        stack = await make_stack(tmp_path, sim, database_url=database_url)
        cid, _ = await stack.client("live@example.com", mode="live")
        price = await sim_price(sim)
        t = await stack.engine.execute(
            cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(100), stop_loss=price - 2000)
        )
        assert t.mode == "live" and t.status == "open"
        # a trade whose entry reached the exchange but whose answer never got recorded
        from avd.exchange.exchange import OrderRequest
        from avd.store import trades as repo
        from avd.store.models import OrderRecord, TradeRecord

        async with stack.trade.db.write() as s:
            lost = await repo.add_trade(
                s,
                TradeRecord(
                    client_id=cid,
                    symbol="BTCUSDT",
                    side="BUY",
                    mode="live",
                    status="pending",
                    requested_quantity=Dec("0.0002"),
                    initial_stop=price - 3000,
                    stop_loss=price - 3000,
                ),
            )
            ghost = await repo.add_trade(
                s,
                TradeRecord(
                    client_id=cid,
                    symbol="BTCUSDT",
                    side="BUY",
                    mode="live",
                    status="pending",
                    requested_quantity=Dec("0.0002"),
                    initial_stop=price - 3000,
                    stop_loss=price - 3000,
                ),
            )
            for tr in (lost, ghost):
                await repo.add_order(
                    s,
                    OrderRecord(
                        trade_id=tr.id,
                        client_order_id=stack.engine.oid(cid, tr.id, "e"),
                        purpose="entry",
                        symbol="BTCUSDT",
                        side="BUY",
                        type="MARKET",
                        status="PENDING_NEW",
                        quantity=Dec("0.0002"),
                    ),
                )
        live = stack.engine.live[cid]
        await live.place_order(
            OrderRequest(
                "BTCUSDT", "BUY", "MARKET", Dec("0.0002"), stack.engine.oid(cid, lost.id, "e")
            )
        )
        # "crash": stop without closing a position or cancelling an order (sockets and
        # database connections are released so the test leaks nothing)
        await close_stack(stack)

        again = await make_stack(tmp_path / "again", sim, database_url=database_url)
        try:
            rec = again.engine.reconciliation
            assert rec.flagged == [ghost.id]
            assert sorted(again.engine.monitor.positions) == sorted([t.id, lost.id])
            assert again.engine.monitor.stop_of(t.id) == price - 2000
            assert again.engine.monitor.stop_of(lost.id) == price - 3000
            rows = await again.engine.trades(cid, None, limit=10, offset=0)
            by_id = {r.id: r.status for r in rows}
            assert by_id == {t.id: "open", lost.id: "open", ghost.id: "flagged"}
            c = await sim.create()
            try:
                orders = await c.get_all_orders(symbol="BTCUSDT")
            finally:
                await c.close_connection()
            for tr in (t, lost):
                assert _count(orders, again.engine.oid(cid, tr.id, "e")) == 1
                assert _count(orders, again.engine.oid(cid, tr.id, "s0")) == 1  # not re-placed
            assert _count(orders, again.engine.oid(cid, ghost.id, "e")) == 0
        finally:
            await close_stack(again)

    run(go(), timeout=90)


def test_signals_trade_for_enabled_bots_only(sim: Sim, tmp_path: Path) -> None:
    """A paper bot's signal fills at the first trade after its candle, as a backtest fills it."""
    from avd.domain.events import SignalGenerated

    def signal(side: str, at: int, price: Dec) -> SignalGenerated:
        return SignalGenerated(
            symbol="BTCUSDT",
            interval="1m",
            side=side,
            confidence=0.8,
            reason="test",
            generated_at=at,
            score=80.0 if side == "BUY" else 20.0,
            pattern="breakout",
            price=float(price),
        )

    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            on, _ = await stack.client(
                "bot-on@example.com", enabled=True, symbols=["BTCUSDT"], risk_per_trade_percent="1"
            )
            off, _ = await stack.client("bot-off@example.com", enabled=False)
            other, _ = await stack.client("bot-eth@example.com", enabled=True, symbols=["ETHUSDT"])
            price = await sim_price(sim)
            close_ms = 10**13 + 59_999  # the signal candle's close
            await stack.hub.publish(signal("BUY", close_ms, price))
            await stack.hub.drain()
            mine = await stack.engine.trades(on, None, limit=10, offset=0)
            # decided at the candle's close; nothing has traded since
            assert [(t.origin, t.status, t.side) for t in mine] == [("signal", "pending", "BUY")]
            # a second BUY while one is pending: one position per symbol
            await stack.hub.publish(signal("BUY", close_ms, price))
            await stack.hub.drain()
            assert len(await stack.engine.trades(on, None, limit=10, offset=0)) == 1
            # the next trade (the next candle's open) fills it
            fill = price + 7
            await stack.engine.on_tick("BTCUSDT", close_ms + 1, fill)
            await stack.hub.drain()
            t = (await stack.engine.trades(on, None, limit=10, offset=0))[0]
            # sized at the signal's price: 1 % of 10 000 over a 2 % stop
            # distance, up to the 0.01 tick; the stop sits that far under the fill
            dist = (price * Dec("0.02") / Dec("0.01")).to_integral_value(ROUND_UP) * Dec("0.01")
            bought = (Dec(100) / dist).quantize(Dec("0.00001"), ROUND_DOWN)
            commission = (bought * Dec("0.001")).quantize(Dec("1e-8"), ROUND_UP)
            held = (bought - commission).quantize(Dec("0.00001"), ROUND_DOWN)
            assert (t.status, t.entry_price, t.opened_ms) == ("open", fill, close_ms + 1)
            assert (t.quantity, t.initial_stop) == (held, fill - dist)
            assert await stack.engine.trades(off, None, limit=10, offset=0) == []
            assert await stack.engine.trades(other, None, limit=10, offset=0) == []
            # a SELL closes it at the first trade after its candle, not before
            await stack.hub.publish(signal("SELL", close_ms + 60_000, price))
            await stack.hub.drain()
            assert (await stack.engine.trade_of(on, t.id)).status == "open"
            out = fill + 100
            await stack.engine.on_tick("BTCUSDT", close_ms + 60_001, out)
            await stack.hub.drain()
            row = await stack.engine.trade_of(on, t.id)
            assert (row.status, row.close_reason, row.exit_price) == ("closed", "signal", out)
            # the realized P&L: the price move on what was held, less the entry's
            # commission (taken in BTC, valued at the fill) and the exit's (in
            # USDT); the dust below the lot step is not a loss: it stays in the
            # paper account as BTC
            exit_fee = (held * out * Dec("0.001")).quantize(Dec("1e-8"), ROUND_UP)

            def q8(x: Dec) -> Dec:  # each booking is kept to 8 decimals
                return x.quantize(Dec("1e-8"))

            pnl = q8(held * (out - fill)) - q8(commission * fill) - exit_fee
            assert row.realized_pnl == pnl
            bal = await stack.engine.paper[on].balances()
            # the account paid for all it bought and got the sale of what it held
            assert bal["USDT"].free == Dec(10000) - bought * fill + held * out - exit_fee
            assert bal["BTC"].free == bought - commission - held > 0
        finally:
            await close_stack(stack)

    run(go())


def test_live_stop_moves_cancel_and_replace_the_protective_order(sim: Sim, tmp_path: Path) -> None:
    from avd.store import trades as repo

    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, _ = await stack.client("stops@example.com", mode="live")
            price = await sim_price(sim)
            t = await stack.engine.execute(
                cid, TradeOrder("BTCUSDT", "BUY", quote_amount=Dec(100), stop_loss=price - 2000)
            )
            await stack.engine.amend(cid, t.id, stop_loss=price - 1500)
            await stack.engine.amend(cid, t.id, stop_loss=price - 1200)
            c = await sim.create()
            try:
                rows = {
                    o["clientOrderId"]: o
                    for o in await c.get_all_orders(symbol="BTCUSDT")
                    if o["clientOrderId"].startswith(stack.engine.oid(cid, t.id, ""))
                }
            finally:
                await c.close_connection()
            s0, s1, s2 = (stack.engine.oid(cid, t.id, f"s{i}") for i in range(3))
            assert set(rows) == {stack.engine.oid(cid, t.id, "e"), s0, s1, s2}
            assert [rows[x]["status"] for x in (s0, s1, s2)] == ["CANCELED", "CANCELED", "NEW"]
            assert [Dec(rows[x]["stopPrice"]) for x in (s0, s1, s2)] == [
                price - 2000,
                price - 1500,
                price - 1200,
            ]
            assert rows[s2]["type"] == "STOP_LOSS_LIMIT" and rows[s2]["side"] == "SELL"
            # the limit sits 50 bps under the stop; a SELL limit rounds passively: up
            assert Dec(rows[s2]["price"]) == ((price - 1200) * Dec("0.995")).quantize(
                Dec("0.01"), ROUND_UP
            )
            async with stack.trade.db.read() as s:
                recorded = {o.client_order_id: o.status for o in await repo.orders_of(s, t.id)}
            assert recorded == {
                stack.engine.oid(cid, t.id, "e"): "FILLED",
                s0: "CANCELED",
                s1: "CANCELED",
                s2: "NEW",
            }
            closed = await stack.engine.close(cid, t.id)
            assert closed.status == "closed"
        finally:
            await close_stack(stack)

    run(go())


def test_paper_partial_exit_and_stop_pnl_by_hand(sim: Sim, tmp_path: Path) -> None:
    from avd.domain.events import PartialExitTaken

    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, _ = await stack.client("pnl@example.com")
            p = await sim_price(sim)
            t = await stack.engine.execute(
                cid,
                TradeOrder(
                    "BTCUSDT",
                    "BUY",
                    quantity=Dec("0.01"),
                    stop_loss=p - 1000,
                    take_profits=((Dec(1), Dec("0.5")),),
                ),
            )
            assert t.quantity == Dec("0.00999")  # 0.01 less the 0.00001 BTC commission
            await stack.engine.on_tick("BTCUSDT", 10**13, p + 1000)  # +1R
            await stack.engine.on_tick("BTCUSDT", 10**13 + 1, p - Dec("1000.5"))  # through the stop
            await stack.hub.drain()
            q8 = Dec("0.00000001")
            part = Dec("0.00499")  # half of 0.00999, down to the 0.00001 step
            rest = Dec("0.00999") - part
            fee1 = (part * (p + 1000) * Dec("0.001")).quantize(q8, ROUND_UP)
            fee2 = (rest * (p - Dec("1000.5")) * Dec("0.001")).quantize(q8, ROUND_UP)
            # the P&L counts the entry's commission too: 0.00001 BTC given up at p
            pnl = part * 1000 - fee1 + rest * Dec("-1000.5") - fee2 - Dec("0.00001") * p
            partials = [e for e in stack.events if isinstance(e, PartialExitTaken)]
            assert [(e.level, Dec(e.quantity), Dec(e.price)) for e in partials] == [
                (1, part, p + 1000)
            ]
            closed = [e for e in stack.events if isinstance(e, TradeClosed)]
            assert [(e.reason, Dec(e.exit_price), Dec(e.pnl)) for e in closed] == [
                ("stop_loss", p - Dec("1000.5"), pnl)
            ]
            row = await stack.engine.trade_of(cid, t.id)
            assert (row.status, row.realized_pnl, row.open_quantity) == ("closed", pnl, 0)
            # paper account: 0.01 BTC bought, everything sold back, fees paid
            bal = await stack.engine.paper[cid].balances()
            assert bal["BTC"].free == 0
            assert bal["USDT"].free == (
                Dec(10000)
                - Dec("0.01") * p
                + part * (p + 1000)
                - fee1
                + rest * (p - Dec("1000.5"))
                - fee2
            )
            assert bal["USDT"].free == Dec(10000) + pnl
            # the platform fee went to the Client service's ledger (0.1% of the notional)
            assert await stack.clients.balance(cid) < Dec(10000)
        finally:
            await close_stack(stack)

    run(go())


def test_paper_limit_entry_opens_when_the_price_reaches_it(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, _ = await stack.client("limit@example.com")
            p = await sim_price(sim)
            await stack.engine.on_tick("BTCUSDT", 10**13, p)
            t = await stack.engine.execute(
                cid,
                TradeOrder(
                    "BTCUSDT",
                    "BUY",
                    type="LIMIT",
                    quantity=Dec("0.001"),
                    price=p - 500,
                    stop_loss=p - 2000,
                ),
            )
            assert t.status == "pending" and t.requested_quantity == Dec("0.001")
            await stack.engine.on_tick("BTCUSDT", 10**13 + 1, p - 400)
            assert (await stack.engine.trade_of(cid, t.id)).status == "pending"
            await stack.engine.on_tick("BTCUSDT", 10**13 + 2, p - 600)  # trades through
            await stack.hub.drain()
            row = await stack.engine.trade_of(cid, t.id)
            assert (row.status, row.entry_price) == ("open", p - 500)  # a maker fill at the limit
            assert row.quantity == Dec("0.00099")  # 0.001 less the 0.000001 commission, stepped
            assert [e.trade_id for e in stack.events if isinstance(e, TradePlaced)] == [t.id]
        finally:
            await close_stack(stack)

    run(go())


def test_a_replay_that_starts_over_never_moves_stops_or_fills(sim: Sim, tmp_path: Path) -> None:
    # After a restart the platform tells the engine its newest stored candle;
    # klines of candles up to it (a replay that started over) are ignored:
    # they would hit the stop at a price older than what was already seen.
    from avd.domain.events import KlineReceived

    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            cid, _ = await stack.client("stale@example.com")
            price = await sim_price(sim)
            t = await stack.engine.execute(
                cid,
                TradeOrder("BTCUSDT", "BUY", quote_amount=Dec("100"), stop_loss=price - 1000),
            )
            # the newest stored 1m candle: five minutes after the fill, so that
            # the older ones below are all after it too (the tracker would act)
            newest = (t.opened_ms // 60_000 + 5) * 60_000
            stack.engine.seed_candle("BTCUSDT", "1m", newest, price)

            def kline(open_time: int, low: Dec) -> KlineReceived:
                p = float(price)
                return KlineReceived(
                    symbol="BTCUSDT",
                    interval="1m",
                    open_time=open_time,
                    open=p,
                    high=p,
                    low=float(low),
                    close=p,
                    volume=1.0,
                    closed=True,
                )

            for back in (3, 2, 1, 0):  # old candles through the stop, and the newest again
                await stack.hub.publish(kline(newest - back * 60_000, price - 2000))
            await stack.hub.drain()
            assert (await stack.engine.trade_of(cid, t.id)).status == "open"
            # the next candle is news: it goes through the stop
            await stack.hub.publish(kline(newest + 60_000, price - 2000))
            await stack.hub.drain()
            row = await stack.engine.trade_of(cid, t.id)
            assert (row.status, row.close_reason, row.exit_price) == (
                "closed",
                "stop_loss",
                price - 1000,
            )
        finally:
            await close_stack(stack)

    run(go())


def test_a_scanner_bot_trades_the_top_n_and_exits_what_it_holds(sim: Sim, tmp_path: Path) -> None:
    """``symbols: ["scanner:1"]``: a BUY of the scanner's first symbol only; a SELL closes a
    position even after its symbol left the top."""
    from avd.domain.events import SignalGenerated

    ranking = ["BTCUSDT", "ETHUSDT"]
    asked: list[str] = []

    async def scanner(interval: str, top: int) -> list[str]:  # the market scanner's answer
        asked.append(interval)
        return ranking[:top]

    def signal(symbol: str, side: str, at: int, price: Dec) -> SignalGenerated:
        return SignalGenerated(
            symbol=symbol,
            interval="1m",
            side=side,
            confidence=0.8,
            reason="test",
            generated_at=at,
            score=80.0,
            pattern="breakout",
            price=float(price),
        )

    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        stack.engine.signals.scanner = scanner
        try:
            bot, _ = await stack.client(
                "scan@example.com", enabled=True, symbols=["scanner:1"], risk_per_trade_percent="1"
            )
            price = await sim_price(sim)
            at = 10**13 + 59_999
            await stack.hub.publish(signal("ETHUSDT", "BUY", at, price))  # second: not traded
            await stack.hub.publish(signal("BTCUSDT", "BUY", at, price))  # first: traded
            await stack.hub.drain()
            mine = await stack.engine.trades(bot, None, limit=10, offset=0)
            assert [(t.symbol, t.side, t.origin) for t in mine] == [("BTCUSDT", "BUY", "signal")]
            assert asked == ["1m", "1m"]
            await stack.engine.on_tick("BTCUSDT", at + 1, price)
            await stack.hub.drain()
            (t,) = await stack.engine.trades(bot, None, limit=10, offset=0)
            assert t.status == "open"
            # BTCUSDT leaves the top; its SELL still closes the position the bot holds
            ranking[:] = ["ETHUSDT", "BTCUSDT"]
            await stack.hub.publish(signal("BTCUSDT", "SELL", at + 60_000, price))
            await stack.hub.drain()
            await stack.engine.on_tick("BTCUSDT", at + 60_001, price + 5)
            await stack.hub.drain()
            row = await stack.engine.trade_of(bot, t.id)
            assert (row.status, row.close_reason) == ("closed", "signal")
        finally:
            await close_stack(stack)

    run(go(), timeout=90)
