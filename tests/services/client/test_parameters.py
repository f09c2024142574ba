"""Bot and global parameters: PUT replaces them whole, PATCH changes only what it is given."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from avd.services.client.service import ClientService
from avd.store import parameters
from tests.services.client.conftest import admin_auth, auth, make_settings

KEYS = {"api_key": "K" * 24, "api_secret": "S" * 24}
#: a complete set, every field away from its default
FULL: dict[str, Any] = {
    "enabled": True,
    "mode": "paper",
    "symbols": ["ETHUSDT", "SOLUSDT"],
    "risk_per_trade_percent": "0.5",
    "max_open_positions": 2,
    "stops": {
        "stop_loss_percent": "1.5",
        "stop_loss_atr_multiple": None,
        "trailing_percent": "3",
        "break_even_after_r": "1",
        "chandelier_atr_multiple": None,
        "time_stop_minutes": 240,
        "take_profit": [{"r_multiple": "2", "fraction": "0.5"}],
        "stop_at_support": True,
        "target_at_resistance": True,
        "level_buffer_percent": "0.2",
    },
    "strategy": "rules",
}


def test_partial_put_is_refused_and_changes_nothing(api: TestClient) -> None:
    h = auth(api, "put@example.com")
    r = api.put("/client/parameters", headers=h, json=FULL)
    assert r.status_code == 200, r.text
    assert r.json() == FULL

    # the walk that silently disabled a bot and reset its symbols and stops
    r = api.put("/client/parameters", headers=h, json={"max_open_positions": 4})
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["error"] == "invalid_request"
    for name in ("enabled", "mode", "symbols", "risk_per_trade_percent", "stops", "strategy"):
        assert name in err["detail"], name
    assert "max_open_positions" not in err["detail"]
    assert err["missing"] == [
        "enabled",
        "mode",
        "symbols",
        "risk_per_trade_percent",
        "stops",
        "strategy",
    ]
    assert api.get("/client/parameters", headers=h).json() == FULL


def test_patch_changes_only_the_fields_given(api: TestClient) -> None:
    h = auth(api, "patch@example.com")
    assert api.put("/client/parameters", headers=h, json=FULL).status_code == 200

    r = api.patch("/client/parameters", headers=h, json={"max_open_positions": 4})
    assert r.status_code == 200, r.text
    assert r.json() == {**FULL, "max_open_positions": 4}
    assert api.get("/client/parameters", headers=h).json() == {**FULL, "max_open_positions": 4}

    # stops merge key by key; null clears an optional setting; arrays are replaced whole
    r = api.patch(
        "/client/parameters",
        headers=h,
        json={
            "stops": {
                "trailing_percent": None,
                "chandelier_atr_multiple": "2.5",
                "take_profit": [
                    {"r_multiple": "1", "fraction": "0.25"},
                    {"r_multiple": "3", "fraction": "0.5"},
                ],
            }
        },
    )
    assert r.status_code == 200, r.text
    stops = {
        **FULL["stops"],
        "trailing_percent": None,
        "chandelier_atr_multiple": "2.5",
        "take_profit": [
            {"r_multiple": "1", "fraction": "0.25"},
            {"r_multiple": "3", "fraction": "0.5"},
        ],
    }
    assert r.json() == {**FULL, "max_open_positions": 4, "stops": stops}

    # from a percent stop to an ATR stop: clear one, set the other, in one patch
    r = api.patch(
        "/client/parameters",
        headers=h,
        json={"stops": {"stop_loss_percent": None, "stop_loss_atr_multiple": "2"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["stops"]["stop_loss_percent"] is None
    assert r.json()["stops"]["stop_loss_atr_multiple"] == "2"
    assert r.json()["symbols"] == ["ETHUSDT", "SOLUSDT"] and r.json()["enabled"] is True


def test_patch_is_validated_whole_and_a_refusal_saves_nothing(api: TestClient) -> None:
    h = auth(api, "refuse@example.com")
    assert api.put("/client/parameters", headers=h, json=FULL).status_code == 200
    refusals: list[tuple[Any, str]] = [
        # both initial stops at once: only the merged result shows it
        ({"stops": {"stop_loss_atr_multiple": "2"}}, "stop_loss_atr_multiple"),
        ({"enabled": None}, "enabled"),
        ({"max_open_positions": 0}, "max_open_positions"),
        ({"symbols": ["ETHUSDT", "ETHUSDT"]}, "symbols must not repeat"),
        ({"stops": {"take_profit": [{"r_multiple": "2", "fraction": "1.5"}]}}, "fraction"),
        ({"risk_per_trade_percent": "11"}, "risk_per_trade_percent"),
        ({"nonsense": True}, "nonsense"),
        ({"stops": {"nonsense": "1"}}, "stops.nonsense"),
    ]
    for patch, named in refusals:
        r = api.patch("/client/parameters", headers=h, json=patch)
        assert r.status_code == 422, (patch, r.text)
        assert r.json()["error"] == "invalid_request" and named in r.json()["detail"], r.text
    for raw in (b"[]", b'"x"', b"{", b"[" * 5000):
        r = api.patch("/client/parameters", headers=h, content=raw)
        assert r.status_code == 422, (raw[:10], r.text)
    # live mode needs an exchange key: 409, and nothing changes
    r = api.patch("/client/parameters", headers=h, json={"mode": "live", "enabled": False})
    assert r.status_code == 409, r.text
    assert api.get("/client/parameters", headers=h).json() == FULL
    # with a key it goes through
    assert api.post("/client/api-keys", headers=h, json=KEYS).status_code == 201
    r = api.patch("/client/parameters", headers=h, json={"mode": "live"})
    assert r.status_code == 200 and r.json() == {**FULL, "mode": "live"}


def test_defaults_until_saved_then_patched(api: TestClient) -> None:
    h = auth(api, "fresh@example.com")
    before = api.get("/client/parameters", headers=h).json()
    r = api.patch("/client/parameters", headers=h, json={"symbols": ["BNBUSDT"]})
    assert r.status_code == 200
    assert r.json() == {**before, "symbols": ["BNBUSDT"]}


def test_global_parameters_put_whole_patch_partial(api: TestClient) -> None:
    admin = admin_auth(api)
    client = auth(api, "nosy@example.com")
    g = api.get("/admin/parameters", headers=admin).json()
    changed = {
        **g,
        "fee_mode": "profit",
        "min_balance_to_trade": "5.00",
        "registration_open": False,
    }
    assert api.put("/admin/parameters", headers=admin, json=changed).status_code == 200
    r = api.put("/admin/parameters", headers=admin, json={"fee_percent": "0.2"})
    assert r.status_code == 422
    assert r.json()["missing"] == ["fee_mode", "min_balance_to_trade", "registration_open"]
    r = api.patch("/admin/parameters", headers=admin, json={"fee_percent": "0.25"})
    assert r.status_code == 200, r.text
    assert r.json() == {**changed, "fee_percent": "0.25"}
    assert api.get("/admin/parameters", headers=admin).json() == {**changed, "fee_percent": "0.25"}
    r = api.patch("/admin/parameters", headers=admin, json={"min_balance_to_trade": "-1"})
    assert r.status_code == 422
    assert api.patch("/admin/parameters", headers=client, json={}).status_code == 403


def test_stored_parameters_with_numbers_still_load(api: TestClient) -> None:
    """A row written with JSON numbers (or exponents) by an older version reads back."""
    h = auth(api, "old@example.com")
    me = api.get("/client/me", headers=h).json()
    svc: ClientService = api.app.state.client_service  # type: ignore[attr-defined]
    legacy = (
        '{"enabled": true, "mode": "paper", "symbols": ["ETHUSDT"], '
        '"risk_per_trade_percent": 0.75, "max_open_positions": 2, '
        '"stops": {"stop_loss_percent": "2E+0", "trailing_percent": 1.50, '
        '"take_profit": [{"r_multiple": 2, "fraction": 0.5}]}}'
    )

    async def write() -> None:
        async with svc.db.write() as s:
            await parameters.save_client(s, me["id"], legacy)

    api.portal.call(write)  # type: ignore[union-attr]
    r = api.get("/client/parameters", headers=h)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["risk_per_trade_percent"] == "0.75"
    assert p["stops"]["stop_loss_percent"] == "2" and p["stops"]["trailing_percent"] == "1.5"
    assert p["stops"]["take_profit"] == [{"r_multiple": "2", "fraction": "0.5"}]
    r = api.patch("/client/parameters", headers=h, json={"max_open_positions": 3})
    assert r.status_code == 200 and r.json() == {**p, "max_open_positions": 3}


async def _concurrent_patches(svc: ClientService) -> None:
    await svc.start()
    user = await svc.create_user("race@example.com", "correct horse battery", "client")
    patches: list[dict[str, Any]] = [
        {"enabled": True},
        {"symbols": ["ETHUSDT", "BTCUSDT"]},
        {"risk_per_trade_percent": "0.25"},
        {"max_open_positions": 7},
        {"stops": {"trailing_percent": "4"}},
        {"stops": {"break_even_after_r": "1.5"}},
        {"stops": {"time_stop_minutes": 60}},
        {"stops": {"take_profit": [{"r_multiple": "2", "fraction": "0.5"}]}},
    ]
    # each patch sent three times, all at once: none may undo another
    await asyncio.gather(*(svc.patch_parameters(user.id, p) for p in patches * 3))
    got = (await svc.parameters(user.id)).model_dump(mode="json")
    assert got["enabled"] is True and got["mode"] == "paper"
    assert got["symbols"] == ["ETHUSDT", "BTCUSDT"]
    assert got["risk_per_trade_percent"] == "0.25" and got["max_open_positions"] == 7
    assert got["stops"] == {
        "stop_loss_percent": "2",
        "stop_loss_atr_multiple": None,
        "trailing_percent": "4",
        "break_even_after_r": "1.5",
        "chandelier_atr_multiple": None,
        "time_stop_minutes": 60,
        "take_profit": [{"r_multiple": "2", "fraction": "0.5"}],
        "stop_at_support": False,
        "target_at_resistance": False,
        "level_buffer_percent": "0.1",
    }

    admin = await svc.create_user("boss@example.com", "correct horse battery", "admin")
    changes: list[dict[str, Any]] = [
        {"fee_mode": "profit"},
        {"fee_percent": "0.3"},
        {"min_balance_to_trade": "2.5"},
        {"registration_open": False},
    ]
    await asyncio.gather(*(svc.patch_global_parameters(admin, c, None) for c in changes * 3))
    assert (await svc.global_parameters()).model_dump(mode="json") == {
        "fee_mode": "profit",
        "fee_percent": "0.3",
        "min_balance_to_trade": "2.50",
        "registration_open": False,
    }
    await svc.stop()


def test_concurrent_patches_are_all_applied(tmp_path: Path, database_url: str) -> None:
    asyncio.run(_concurrent_patches(ClientService(make_settings(tmp_path, database_url))))
