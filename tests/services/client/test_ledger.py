"""Prepaid fees: deposits through the simulator, idempotency, fee charging, the
exhausted-balance refusal, adjustments and concurrency, on both databases."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from avd.domain import errors as de
from avd.domain.gateways import Principal
from avd.runtime.transports import LocalClientGateway
from avd.services.client import schemas as m
from avd.services.client.app import create_app
from avd.services.client.fees import compute_fee
from avd.services.client.service import ClientService
from avd.services.trade.remote import RestClientGateway
from tests.services.client.conftest import admin_auth, auth, make_settings, service_headers


def _me(api: TestClient, h: dict[str, str]) -> int:
    return int(api.get("/client/me", headers=h).json()["id"])


def test_deposit_outcomes_and_idempotency(api: TestClient) -> None:
    h = auth(api, "pay@example.com")
    body = {"amount": "100.50", "idempotency_key": "order-1"}
    first = api.post("/client/deposit", headers=h, json=body)
    assert first.status_code == 201 and first.json()["balance"] == "100.50"
    again = api.post("/client/deposit", headers=h, json=body)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert api.get("/client/funds", headers=h).json()["balance"] == "100.50"
    # the same key for another amount is a conflict
    r = api.post("/client/deposit", headers=h, json={"amount": "5", "idempotency_key": "order-1"})
    assert r.status_code == 409
    # a declined payment credits nothing, also when retried
    fail = {"amount": "20", "idempotency_key": "order-2", "simulate": "failure"}
    r = api.post("/client/deposit", headers=h, json=fail)
    assert r.status_code == 402 and r.json()["error"] == "payment_failed"
    assert api.post("/client/deposit", headers=h, json=fail).status_code == 402
    # pending: 202, credited when settled
    pend = api.post(
        "/client/deposit",
        headers=h,
        json={"amount": "30.25", "idempotency_key": "order-3", "simulate": "pending"},
    )
    assert pend.status_code == 202 and pend.json()["status"] == "pending"
    assert pend.json()["balance"] == "100.50"
    admin = admin_auth(api)
    r = api.post(
        f"/admin/deposits/{pend.json()['id']}/settle", headers=admin, json={"outcome": "success"}
    )
    assert r.status_code == 200 and r.json()["balance"] == "130.75"
    assert (
        api.post(
            f"/admin/deposits/{pend.json()['id']}/settle",
            headers=admin,
            json={"outcome": "success"},
        ).status_code
        == 409
    )
    assert api.get("/client/funds", headers=h).json()["balance"] == "130.75"
    ops = api.get("/client/history", headers=h).json()["operations"]
    assert sorted((o["type"], o["status"], o["amount"]) for o in ops) == [
        ("deposit", "failed", "20.00"),
        ("deposit", "succeeded", "100.50"),
        ("deposit", "succeeded", "30.25"),
    ]


def test_fee_examples() -> None:
    # worked by hand: 0.1 % of 2500 USDT notional = 2.5; 10 % of 123.45 profit = 12.345
    assert compute_fee("notional", Decimal("0.1"), Decimal("2500"), Decimal("-40")) == Decimal(
        "2.5"
    )
    assert compute_fee("profit", Decimal("10"), Decimal("2500"), Decimal("123.45")) == Decimal(
        "12.345"
    )
    assert compute_fee("profit", Decimal("10"), Decimal("2500"), Decimal("-5")) == Decimal("0")
    # 0.075 % of 1.23456789 = 0.000925925917... -> 0.00092593 (half-up at 1e-8)
    assert compute_fee("notional", Decimal("0.075"), Decimal("1.23456789"), Decimal(0)) == Decimal(
        "0.00092593"
    )


def test_fees_charged_on_closed_trades_and_trading_refused_when_exhausted(api: TestClient) -> None:
    h = auth(api, "trader@example.com")
    cid = _me(api, h)
    svc = service_headers(api)
    api.post("/client/deposit", headers=h, json={"amount": "5", "idempotency_key": "d1"})
    assert (
        api.post("/client/internal/trade-check", headers=svc, json={"client_id": cid}).status_code
        == 200
    )

    trade = {
        "client_id": cid,
        "trade_ref": "T-1",
        "symbol": "BTCUSDT",
        "notional": "2500",
        "profit": "-40",
    }
    r = api.post("/client/internal/fees", headers=svc, json=trade)
    assert r.status_code == 200
    assert r.json() | {} == {
        "client_id": cid,
        "trade_ref": "T-1",
        "fee": "2.50",
        "charged": "2.50",
        "shortfall": "0.00",
        "balance": "2.50",
        "duplicate": False,
    }
    # reported twice: charged once
    r = api.post("/client/internal/fees", headers=svc, json=trade)
    assert r.json()["duplicate"] is True and r.json()["balance"] == "2.50"

    # switch to a percent of profit: 10 % of 40 profit = 4, more than the 2.50 left
    admin = admin_auth(api)
    g = api.get("/admin/parameters", headers=admin).json()
    r = api.put(
        "/admin/parameters", headers=admin, json={**g, "fee_mode": "profit", "fee_percent": "10"}
    )
    assert r.status_code == 200
    trade2 = {**trade, "trade_ref": "T-2", "profit": "40"}
    r = api.post("/client/internal/fees", headers=svc, json=trade2).json()
    assert (r["fee"], r["charged"], r["shortfall"], r["balance"]) == (
        "4.00",
        "2.50",
        "1.50",
        "0.00",
    )

    r = api.post("/client/internal/trade-check", headers=svc, json={"client_id": cid})
    assert r.status_code == 402 and r.json()["error"] == "insufficient_balance"
    assert r.json()["numbers"] == {"balance": "0.00"}  # 5.00 deposited, 2.50 + 2.50 charged
    assert api.get("/client/funds", headers=h).json()["can_trade"] is False
    ops = api.get("/client/history", headers=h).json()["operations"]
    assert [o["amount"] for o in ops if o["type"] == "fee_charge"] == ["-2.50", "-2.50"]
    assert {o["trade_ref"] for o in ops if o["type"] == "trade"} == {"T-1", "T-2"}
    # a deposit re-opens trading
    api.post("/client/deposit", headers=h, json={"amount": "1", "idempotency_key": "d2"})
    assert (
        api.post("/client/internal/trade-check", headers=svc, json={"client_id": cid}).status_code
        == 200
    )


def test_admin_adjustments(api: TestClient) -> None:
    h = auth(api, "adj@example.com")
    cid = _me(api, h)
    admin = admin_auth(api)
    r = api.post(
        f"/admin/clients/{cid}/adjustments",
        headers=admin,
        json={"amount": "12.34", "reason": "goodwill"},
    )
    assert r.status_code == 201 and r.json()["balance"] == "12.34"
    r = api.post(
        f"/admin/clients/{cid}/adjustments",
        headers=admin,
        json={"amount": "-20", "reason": "too much"},
    )
    assert r.status_code == 409
    r = api.post(
        f"/admin/clients/{cid}/adjustments",
        headers=admin,
        json={"amount": "-2.34", "reason": "fix", "kind": "adjustment"},
    )
    assert r.json()["balance"] == "10.00"
    r = api.post(
        f"/admin/clients/{cid}/adjustments",
        headers=admin,
        json={"amount": "1.5", "reason": "fee refund", "kind": "refund"},
    )
    assert r.json()["balance"] == "11.50"
    assert (
        api.post(
            f"/admin/clients/{cid}/adjustments",
            headers=admin,
            json={"amount": "-1", "reason": "x", "kind": "refund"},
        ).status_code
        == 422
    )
    assert (
        api.post(
            f"/admin/clients/{cid}/adjustments", headers=admin, json={"amount": "1"}
        ).status_code
        == 422
    )
    listed = {
        c["id"]: c["balance"] for c in api.get("/admin/clients", headers=admin).json()["clients"]
    }
    assert listed[cid] == "11.50"
    j = api.get("/admin/journal", headers=admin, params={"action": "ledger_adjustment"}).json()[
        "entries"
    ]
    assert [e["detail"]["amount"] for e in j] == ["1.50", "-2.34", "12.34"]


async def _hammer(svc: ClientService) -> None:
    await svc.start()
    user = await svc.create_user("busy@example.com", "correct horse battery", "client")
    cid = user.id
    await svc.deposit(cid, m.DepositRequest(amount=Decimal("1000"), idempotency_key="seed"))

    # 50 deposits of 10 (each sent twice with the same key: credited once) and 50 fee
    # charges of 2.5 (0.1 % of 2500): 1000 + 500 - 125 = 1375, whatever the order
    async def dep(i: int) -> None:
        await svc.deposit(cid, m.DepositRequest(amount=Decimal("10"), idempotency_key=f"k{i}"))

    async def fee(i: int) -> None:
        await svc.charge_fee(
            m.FeeCharge(
                client_id=cid, trade_ref=f"t{i}", symbol="BTCUSDT", notional=Decimal("2500")
            )
        )

    jobs = (
        [dep(i) for i in range(50)]
        + [dep(i) for i in range(0, 50, 5)]
        + [fee(i) for i in range(50)]
    )
    await asyncio.gather(*jobs)
    assert await svc.balance(cid) == Decimal("1375")

    # never negative: 100 concurrent charges of 25 (0.1 % of 25000) against 1375:
    # 1375 / 25 = 55 are charged in full, the other 45 find the balance at zero
    async def big(i: int) -> m.FeeCharged:
        return await svc.charge_fee(
            m.FeeCharge(
                client_id=cid, trade_ref=f"big{i}", symbol="ETHUSDT", notional=Decimal("25000")
            )
        )

    results = await asyncio.gather(*(big(i) for i in range(100)))
    charged = sorted((r.charged for r in results), reverse=True)
    assert charged == [Decimal("25")] * 55 + [Decimal("0")] * 45
    assert await svc.balance(cid) == Decimal("0")
    assert sum((r.shortfall for r in results), Decimal(0)) == Decimal("25") * 45
    await svc.stop()


def test_concurrent_deposits_and_charges(tmp_path: Path, database_url: str) -> None:
    asyncio.run(_hammer(ClientService(make_settings(tmp_path, database_url))))


def test_local_and_rest_gateways_agree(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)

    async def run() -> None:
        svc = ClientService(settings)
        app = create_app(settings, service=svc)
        await svc.start()
        user = await svc.create_user("gw@example.com", "correct horse battery", "client")
        await svc.deposit(user.id, m.DepositRequest(amount=Decimal("3"), idempotency_key="g"))
        await svc.add_api_key(
            user.id, m.ApiKeyCreate(api_key="A" * 60 + "KEY1", api_secret="s" * 60 + "SEC9"), None
        )
        local = LocalClientGateway(svc)
        rest = RestClientGateway(
            "http://client", svc._service_token, transport=httpx.ASGITransport(app=app)
        )
        try:
            for gw in (local, rest):
                b = await gw.internal_balance(user.id)
                assert (b.balance, b.can_trade) == (Decimal("3"), True)
                creds = await gw.decrypt_api_secret(user.id)
                assert creds.api_secret == "s" * 60 + "SEC9"
            f1 = await local.charge_fee(
                m.FeeCharge(
                    client_id=user.id, trade_ref="x1", symbol="BTCUSDT", notional=Decimal("2000")
                )
            )
            f2 = await rest.charge_fee(
                m.FeeCharge(
                    client_id=user.id, trade_ref="x1", symbol="BTCUSDT", notional=Decimal("2000")
                )
            )
            assert (f1.charged, f1.duplicate, f2.charged, f2.duplicate) == (
                Decimal("2"),
                False,
                Decimal("2"),
                True,
            )
            await local.charge_fee(
                m.FeeCharge(
                    client_id=user.id, trade_ref="x2", symbol="BTCUSDT", notional=Decimal("1000")
                )
            )
            token = svc.tokens.encode(svc.tokens.issue(user.id, "client", 0, "access"))
            for gw in (local, rest):
                with pytest.raises(de.PaymentRequired) as paid:
                    await gw.check_trade(user.id)
                assert paid.value.rule == "insufficient_balance"
                with pytest.raises(de.NotFound):
                    await gw.internal_balance(999_999)
                # the same principal, parameters and bots through both transports
                assert await gw.authenticate(token, "client") == Principal(user.id, "client")
                with pytest.raises(de.Forbidden):
                    await gw.authenticate(token, "admin")
                with pytest.raises(de.Unauthorized):
                    await gw.authenticate("not-a-token", "client")
                assert (await gw.parameters(user.id)).max_open_positions == 3
                assert [c for c, _ in await gw.bots()] == [user.id]
            bad = RestClientGateway(
                "http://client", "wrong-token", transport=httpx.ASGITransport(app=app)
            )
            with pytest.raises(de.Unauthorized):
                await bad.internal_balance(user.id)
            await bad.aclose()
        finally:
            await rest.aclose()
            await svc.stop()

    asyncio.run(run())
