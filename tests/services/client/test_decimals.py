"""Decimals on the Client service's wire: strings in, one canonical string per field out."""

from __future__ import annotations

import copy
from typing import Any

from starlette.testclient import TestClient

from tests.services.client.conftest import admin_auth, auth, service_headers
from tests.web.canonical import NUMBER, check_decimals

PARAMS: dict[str, Any] = {
    "enabled": False,
    "mode": "paper",
    "symbols": ["BTCUSDT"],
    "risk_per_trade_percent": "1",
    "max_open_positions": 3,
    "stops": {
        "stop_loss_percent": "2",
        "stop_loss_atr_multiple": None,
        "trailing_percent": None,
        "break_even_after_r": None,
        "chandelier_atr_multiple": None,
        "time_stop_minutes": None,
        "take_profit": [{"r_multiple": "2", "fraction": "0.5"}],
    },
    "strategy": None,
}
GLOBAL: dict[str, Any] = {
    "fee_mode": "notional",
    "fee_percent": "0.1",
    "min_balance_to_trade": "0",
    "registration_open": True,
}

#: method, path, headers, a valid body, the decimal field to send as a number
Case = tuple[str, str, dict[str, str], dict[str, Any], tuple[str | int, ...]]


def _with(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def test_a_json_number_is_refused_the_same_way_everywhere(api: TestClient) -> None:
    h = auth(api, "numbers@example.com")
    admin = admin_auth(api)
    svc = service_headers(api)
    cid = api.get("/client/me", headers=h).json()["id"]
    fee = {"client_id": cid, "trade_ref": "T-1", "symbol": "BTCUSDT", "notional": "100"}
    atr = {"stops": {"stop_loss_percent": None, "stop_loss_atr_multiple": "1"}}
    tps = {"stops": {"take_profit": [{"r_multiple": "1", "fraction": "0.5"}]}}
    adjust = f"/admin/clients/{cid}/adjustments"
    cases: list[Case] = [
        ("POST", "/client/deposit", h, {"amount": "1", "idempotency_key": "n"}, ("amount",)),
        ("PUT", "/client/parameters", h, PARAMS, ("risk_per_trade_percent",)),
        ("PUT", "/client/parameters", h, PARAMS, ("stops", "stop_loss_percent")),
        ("PUT", "/client/parameters", h, PARAMS, ("stops", "take_profit", 0, "fraction")),
        ("PATCH", "/client/parameters", h, PARAMS, ("risk_per_trade_percent",)),
        ("PATCH", "/client/parameters", h, PARAMS, ("stops", "trailing_percent")),
        ("PATCH", "/client/parameters", h, PARAMS, ("stops", "break_even_after_r")),
        ("PATCH", "/client/parameters", h, PARAMS, ("stops", "chandelier_atr_multiple")),
        ("PATCH", "/client/parameters", h, atr, ("stops", "stop_loss_atr_multiple")),
        ("PATCH", "/client/parameters", h, tps, ("stops", "take_profit", 0, "r_multiple")),
        ("PUT", "/admin/parameters", admin, GLOBAL, ("fee_percent",)),
        ("PUT", "/admin/parameters", admin, GLOBAL, ("min_balance_to_trade",)),
        ("PATCH", "/admin/parameters", admin, {}, ("fee_percent",)),
        ("PATCH", "/admin/parameters", admin, {}, ("min_balance_to_trade",)),
        ("POST", adjust, admin, {"amount": "1", "reason": "x"}, ("amount",)),
        ("POST", "/client/internal/fees", svc, fee, ("notional",)),
        ("POST", "/client/internal/fees", svc, fee, ("profit",)),
    ]
    for method, path, headers, body, field in cases:
        for number in (1, 0.5):
            sent = _with(body, field, number)
            r = api.request(method, path, headers=headers, json=sent)
            loc = ".".join(str(p) for p in field)
            assert r.status_code == 422, (method, path, sent, r.text)
            assert r.json() == {"error": "invalid_request", "detail": f"{loc}: {NUMBER}"}, r.text
    # nothing was stored by any of them
    assert api.get("/client/funds", headers=h).json()["balance"] == "0.00"
    assert api.get("/client/parameters", headers=h).json()["risk_per_trade_percent"] == "1"
    assert api.get("/admin/parameters", headers=admin).json()["fee_percent"] == "0.1"


def test_every_decimal_in_the_client_responses_is_canonical(api: TestClient) -> None:
    h = auth(api, "walk@example.com")
    admin = admin_auth(api)
    svc = service_headers(api)
    cid = api.get("/client/me", headers=h).json()["id"]
    seen = 0

    def get(path: str, headers: dict[str, str]) -> Any:
        nonlocal seen
        r = api.get(path, headers=headers)
        assert r.status_code == 200, r.text
        seen += check_decimals(r.json())
        return r.json()

    def send(method: str, path: str, headers: dict[str, str], body: Any, status: int) -> Any:
        nonlocal seen
        r = api.request(method, path, headers=headers, json=body)
        assert r.status_code == status, r.text
        seen += check_decimals(r.json())
        return r.json()

    # decimals sent with trailing zeros come back in one form
    changed = {**GLOBAL, "fee_percent": "0.250", "min_balance_to_trade": "1.5"}
    g = send("PUT", "/admin/parameters", admin, changed, 200)
    assert (g["fee_percent"], g["min_balance_to_trade"]) == ("0.25", "1.50")
    p = send("PUT", "/client/parameters", h, {**PARAMS, "risk_per_trade_percent": "0.50"}, 200)
    assert p["risk_per_trade_percent"] == "0.5"
    d = send("POST", "/client/deposit", h, {"amount": "100.5", "idempotency_key": "w"}, 201)
    assert (d["amount"], d["balance"]) == ("100.50", "100.50")
    # 0.25 % of 1000 = 2.50; a trade that made nothing: profit 0
    trade = {"client_id": cid, "trade_ref": "W-1", "symbol": "BTCUSDT", "notional": "1000"}
    f = send("POST", "/client/internal/fees", svc, trade, 200)
    assert (f["fee"], f["charged"], f["shortfall"], f["balance"]) == (
        "2.50",
        "2.50",
        "0.00",
        "98.00",
    )
    adj = {"amount": "-0.50", "reason": "rounding"}
    e = send("POST", f"/admin/clients/{cid}/adjustments", admin, adj, 201)
    assert (e["amount"], e["balance"]) == ("-0.50", "97.50")

    funds = get("/client/funds", h)
    assert (funds["balance"], funds["fee_percent"], funds["min_balance_to_trade"]) == (
        "97.50",
        "0.25",
        "1.50",
    )
    history = get("/client/history", h)["operations"]
    assert sorted((o["type"], o["amount"]) for o in history) == [
        ("adjustment", "-0.50"),
        ("deposit", "100.50"),
        ("fee_charge", "-2.50"),
        ("trade", "1000.00"),
    ]
    get("/client/parameters", h)
    get("/admin/parameters", admin)
    get("/admin/clients", admin)
    get(f"/client/internal/balance?client_id={cid}", svc)
    assert seen >= 30
