"""``GET /admin/trades/stats``: a client's bot statistics, for admins only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as Dec
from pathlib import Path

from avd.services.trade.stats import trade_stats
from avd.store.models import TradeRecord
from tests.services.trade.conftest import Sim, close_stack, make_stack, run
from tests.services.trade.test_api import bearer, http
from tests.services.trade.test_engine import sim_price

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _trade(tid: int, status: str, pnl: str, closed_min: int | None = None) -> TradeRecord:
    return TradeRecord(
        id=tid,
        client_id=7,
        symbol="BTCUSDT",
        side="BUY",
        mode="paper",
        status=status,
        requested_quantity=Dec("0.01"),
        initial_stop=Dec("1"),
        stop_loss=Dec("1"),
        realized_pnl=Dec(pnl),
        created_at=T0,
        closed_at=None if closed_min is None else T0 + timedelta(minutes=closed_min),
    )


def test_stats_add_up_exactly_by_hand() -> None:
    rows = [
        _trade(4, "closed", "-2.10000001", closed_min=30),
        _trade(1, "closed", "10.25", closed_min=50),  # closed last, although opened first
        _trade(2, "open", "-0.07"),  # the entry's commission, realized already
        _trade(3, "closed", "0.1", closed_min=40),
        _trade(5, "rejected", "0"),
        _trade(6, "pending", "0"),
        _trade(8, "closed", "0", closed_min=45),  # even: neither a win nor a loss
    ]
    st = trade_stats(rows)
    assert [t.id for t in st.open] == [2, 6]
    assert (st.closed, st.wins, st.losses) == (4, 2, 1)
    assert st.win_rate == Dec("0.5")
    # -2.10000001 + 10.25 - 0.07 + 0.1 + 0 = 8.17999999
    assert st.realized_pnl == Dec("8.17999999")
    assert [(p[1], p[2]) for p in st.curve] == [
        (4, Dec("-2.10000001")),
        (3, Dec("-2.00000001")),
        (8, Dec("-2.00000001")),
        (1, Dec("8.24999999")),
    ]
    assert trade_stats([]).win_rate is None


def test_admin_reads_a_clients_stats_and_a_client_cannot(sim: Sim, tmp_path: Path) -> None:
    async def go() -> None:
        stack = await make_stack(tmp_path, sim)
        try:
            a, ta = await stack.client("sa@example.com")
            _b, tb = await stack.client("sb@example.com")
            admin = bearer(stack.token(stack.admin_id, "admin"))
            price = await sim_price(sim)
            body = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "MARKET",
                "quote_amount": "100",
                "stop_loss": f"{price - 1000}",
            }
            async with http(stack) as c:
                r = await c.get(f"/admin/trades/stats?client_id={a}", headers=admin)
                assert r.status_code == 200, r.text
                empty = r.json()
                assert empty["open_positions"] == [] and empty["closed_trades"] == 0
                assert empty["win_rate"] is None and empty["realized_pnl"] == "0.00"

                first = (await c.post("/trades/execute", json=body, headers=bearer(ta))).json()
                r = await c.post(f"/trades/{first['id']}/close", headers=bearer(ta))
                assert r.status_code == 200, r.text
                second = (await c.post("/trades/execute", json=body, headers=bearer(ta))).json()

                # what the client's own API says about the same trades
                mine = (await c.get("/trades/history", headers=bearer(ta))).json()["trades"]
                closed = [t for t in mine if t["status"] == "closed"]
                assert [t["id"] for t in closed] == [first["id"]]
                total = sum((Dec(t["realized_pnl"]) for t in mine), Dec(0))

                r = await c.get(f"/admin/trades/stats?client_id={a}", headers=admin)
                st = r.json()
                assert [t["id"] for t in st["open_positions"]] == [second["id"]]
                assert st["closed_trades"] == 1
                assert Dec(st["realized_pnl"]) == total
                won = Dec(closed[0]["realized_pnl"]) > 0
                assert (st["wins"], st["losses"]) == ((1, 0) if won else (0, 1))
                assert Dec(st["win_rate"]) == (1 if won else 0)
                assert [(p["trade_id"], Dec(p["realized_pnl"])) for p in st["equity_curve"]] == [
                    (first["id"], Dec(closed[0]["realized_pnl"]))
                ]
                r = await c.get(f"/admin/trades/stats?client_id={a}&mode=live", headers=admin)
                assert r.json()["open_positions"] == [] and r.json()["realized_pnl"] == "0.00"

                # clients may not read anyone's statistics, their own included
                for token in (ta, tb):
                    r = await c.get(f"/admin/trades/stats?client_id={a}", headers=bearer(token))
                    assert r.status_code == 403
                assert (await c.get(f"/admin/trades/stats?client_id={a}")).status_code == 401
                r = await c.get("/admin/trades/stats?client_id=0", headers=admin)
                assert r.status_code == 422
        finally:
            await close_stack(stack)

    run(go())
