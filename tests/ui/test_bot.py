"""``/bot``: the bot parameters as a form, with the Client service's verdict next to each field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from nicegui import ui
from nicegui.testing.user import User

from tests.polling import until
from tests.ui.conftest import Account, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio


def parameters(ui_platform: UiPlatform, me: Account) -> dict[str, Any]:
    r = ui_platform.api("GET", "/client/parameters", me)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def field(user: User, marker: str) -> Any:
    (element,) = user.find(marker=marker).elements
    return element


async def open_bot(user: User, me: Account) -> None:
    await log_in(user, me.email)
    await see(user, "Log out")
    await user.open("/bot")
    await see(user, "Risk per trade")


async def test_the_form_shows_the_saved_parameters(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("bot-load")
    saved = ui_platform.api(
        "PATCH",
        "/client/parameters",
        me,
        json={
            "max_open_positions": 4,
            "risk_per_trade_percent": "0.75",
            "symbols": ["ETHUSDT", "BTCUSDT"],
            "stops": {
                "trailing_percent": "1.5",
                "time_stop_minutes": 240,
                "take_profit": [{"r_multiple": "1.5", "fraction": "0.5"}],
            },
        },
    )
    assert saved.status_code == 200, saved.text
    api = parameters(ui_platform, me)
    await open_bot(user, me)
    await user.should_see(marker="risk_per_trade_percent", content="0.75", retries=50)
    assert field(user, "risk_per_trade_percent").value == api["risk_per_trade_percent"]
    assert field(user, "max_open_positions").value == api["max_open_positions"] == 4
    assert field(user, "symbols").value == api["symbols"]
    assert field(user, "enabled").value is api["enabled"]
    assert field(user, "mode").value == api["mode"]
    stops = api["stops"]
    assert field(user, "stop-kind").value == "stop_loss_percent"
    assert field(user, "stop_loss").value == stops["stop_loss_percent"]
    assert field(user, "trailing_percent").value == stops["trailing_percent"] == "1.5"
    assert field(user, "chandelier_atr_multiple").value == ""  # null: off
    assert field(user, "time_stop_minutes").value == stops["time_stop_minutes"]
    (level,) = stops["take_profit"]
    assert field(user, "tp-0-r").value == level["r_multiple"]
    assert field(user, "tp-0-fraction").value == level["fraction"]


async def test_a_valid_change_is_saved(user: User, ui_platform: UiPlatform) -> None:
    me = ui_platform.new_client("bot-save")
    before = parameters(ui_platform, me)
    await open_bot(user, me)
    await user.should_see(marker="risk_per_trade_percent", content=before["risk_per_trade_percent"])
    user.find(marker="risk_per_trade_percent").clear().type("2.5")
    user.find(marker="trailing_percent").clear().type("0.8")
    user.find(marker="enabled").click()
    user.find(marker="tp-add").click()
    user.find(marker="tp-0-r").type("2")
    user.find(marker="tp-0-fraction").type("0.25")
    user.find(marker="bot-save").click()
    await see(user, "Bot parameters saved.")
    after = parameters(ui_platform, me)
    assert after["risk_per_trade_percent"] == "2.5"
    assert after["enabled"] is (not before["enabled"])
    assert after["stops"]["trailing_percent"] == "0.8"
    assert after["stops"]["take_profit"] == [{"r_multiple": "2", "fraction": "0.25"}]
    # what was not touched is as it was
    assert after["symbols"] == before["symbols"]
    assert after["max_open_positions"] == before["max_open_positions"]
    assert after["stops"]["stop_loss_percent"] == before["stops"]["stop_loss_percent"]


async def test_an_out_of_range_risk_shows_the_services_message_by_the_field(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("bot-risk")
    before = parameters(ui_platform, me)
    # what the service says about this value, asked directly
    said = ui_platform.api("PATCH", "/client/parameters", me, json={"risk_per_trade_percent": "12"})
    assert said.status_code == 422
    path, _, message = said.json()["detail"].partition(": ")
    assert path == "risk_per_trade_percent"
    await open_bot(user, me)
    await user.should_see(marker="risk_per_trade_percent", content=before["risk_per_trade_percent"])
    user.find(marker="risk_per_trade_percent").clear().type("12")
    user.find(marker="max_open_positions").clear().type("5")
    user.find(marker="bot-save").click()
    await user.should_see(marker="risk_per_trade_percent", content=message, retries=50)
    assert field(user, "risk_per_trade_percent").error == message
    assert field(user, "max_open_positions").error is None  # the message is by its own field
    assert parameters(ui_platform, me) == before  # nothing saved, not even the valid change
    # fixed, it saves, and the message goes away
    user.find(marker="risk_per_trade_percent").clear().type("3")
    user.find(marker="bot-save").click()
    await see(user, "Bot parameters saved.")
    assert field(user, "risk_per_trade_percent").error is None
    after = parameters(ui_platform, me)
    assert (after["risk_per_trade_percent"], after["max_open_positions"]) == ("3", 5)


async def test_rules_over_several_fields_land_by_the_fields_they_name(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("bot-rules")
    before = parameters(ui_platform, me)
    await open_bot(user, me)
    await user.should_see(marker="stop_loss", content=before["stops"]["stop_loss_percent"])
    user.find(marker="tp-add").click()
    user.find(marker="tp-add").click()
    user.find(marker="tp-0-r").type("2")
    user.find(marker="tp-0-fraction").type("0.7")
    user.find(marker="tp-1-r").type("3")
    user.find(marker="tp-1-fraction").type("1.5")  # over 1: the level's own message
    field(user, "symbols").value = ["BTCUSDT", "btc"]
    user.find(marker="bot-save").click()
    await user.should_see(marker="tp-1-fraction", content="less than or equal to 1", retries=50)
    assert field(user, "tp-0-fraction").error is None
    assert "pattern" in field(user, "symbols").error
    assert parameters(ui_platform, me) == before
    # a level fixed, the sum is over 1: the rule over the levels is said by the take-profits
    user.find(marker="tp-1-fraction").clear().type("0.5")
    field(user, "symbols").value = ["BTCUSDT"]
    user.find(marker="bot-save").click()
    await user.should_see(marker="take_profit-error", content="add up to more than 1", retries=50)
    assert parameters(ui_platform, me) == before


async def test_live_mode_without_a_key_is_refused_by_the_mode(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("bot-live")
    before = parameters(ui_platform, me)
    await open_bot(user, me)
    await user.should_see(marker="mode", content="Paper", retries=50)
    field(user, "mode").value = "live"
    user.find(marker="bot-save").click()
    await user.should_see(marker="mode-error", content="API key", retries=50)
    assert parameters(ui_platform, me) == before
    assert isinstance(field(user, "mode"), ui.toggle)


async def test_level_stops_and_scanner_symbols_are_saved(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("bot-levels")
    set_ = ui_platform.api("PATCH", "/client/parameters", me, json={"symbols": ["scanner:5"]})
    assert set_.status_code == 200, set_.text
    await open_bot(user, me)
    await user.should_see(marker="level_buffer_percent", content="0.1", retries=50)
    assert field(user, "symbols").value == ["scanner:5"]
    assert field(user, "stop_at_support").value is False
    user.find(marker="stop_at_support").click()
    user.find(marker="target_at_resistance").click()
    user.find(marker="level_buffer_percent").clear().type("0.25")
    user.find(marker="bot-save").click()

    def saved() -> bool:
        stops = parameters(ui_platform, me)["stops"]
        return (
            stops["stop_at_support"] is True
            and stops["target_at_resistance"] is True
            and stops["level_buffer_percent"] == "0.25"
        )

    await until(saved, lambda: f"the level stops saved: {parameters(ui_platform, me)['stops']}")
    # the scanner entry kept its lower case (the form upper-cases symbols only)
    assert parameters(ui_platform, me)["symbols"] == ["scanner:5"]


async def test_the_strategy_picker_offers_the_markets_strategies(
    user: User, ui_platform: UiPlatform
) -> None:
    me = ui_platform.new_client("bot-strategy")
    assert parameters(ui_platform, me)["strategy"] is None
    offered = httpx.get(f"{ui_platform.url}/strategies", timeout=10).json()
    assert offered["names"] == ["context", "rules"]
    await open_bot(user, me)
    await user.should_see(marker="strategy", retries=50)
    picker = field(user, "strategy")
    assert picker.value == ""
    assert list(picker.options) == ["", "rules"]
    picker.value = "rules"
    user.find(marker="bot-save").click()
    await until(lambda: parameters(ui_platform, me)["strategy"] == "rules", "the strategy saved")
    # back to the platform's own strategy: saved as null
    picker.value = ""
    user.find(marker="bot-save").click()
    await until(lambda: parameters(ui_platform, me)["strategy"] is None, "the strategy cleared")
