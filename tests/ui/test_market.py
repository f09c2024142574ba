"""The Market pages: the live contexts table, its filters, and a symbol's chart.

Expected values come from the API the pages read (``GET /symbols/contexts``,
``/symbols/{symbol}/candles``, ``/trades/active``) fetched by the test, and
from a plain-Python EMA and Bollinger computation; the platform replays
candles at 60x, so a new context arrives about every second and the tests
poll until the page and the API agree.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nicegui import ui
from nicegui.testing.user import User

from avd.ui.layout import DOWN, UP
from tests.polling import until
from tests.ui.conftest import Account, UiPlatform, log_in, see

pytestmark = pytest.mark.anyio

#: the symbols the offline platform replays (README, Quick start)
REPLAYED = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"}
#: the engine's default overlay periods (README, Engine configuration)
EMA_FAST, EMA_SLOW, BB_PERIOD, BB_NBDEV = 20, 50, 20, 2.0


def public(ui_platform: UiPlatform, path: str, **params: Any) -> Any:
    r = httpx.get(f"{ui_platform.url}{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def table(user: User, marker: str = "market-table") -> ui.table:
    found = user.find(marker=marker).elements
    assert len(found) == 1
    element = next(iter(found))
    assert isinstance(element, ui.table)
    return element


def page_rows(user: User) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in table(user).rows}


def api_rows(ui_platform: UiPlatform, **filters: Any) -> dict[str, dict[str, Any]]:
    rows = public(ui_platform, "/symbols/contexts", **filters)["contexts"]
    return {f"{r['symbol']} {r['interval']}": r for r in rows}


async def on_market(user: User, ui_platform: UiPlatform) -> Account:
    me = ui_platform.new_client("market")
    await log_in(user, me.email)
    await see(user, "market-table")
    return me


async def test_the_table_shows_every_symbol_as_the_api_does(
    user: User, ui_platform: UiPlatform
) -> None:
    await on_market(user, ui_platform)

    def agree() -> bool:
        api = api_rows(ui_platform)
        page = page_rows(user)
        return page.keys() == api.keys() and all(
            (page[k]["score"], page[k]["pattern"], page[k]["direction"])
            == (api[k]["score"], api[k]["pattern"], api[k]["direction"])
            for k in api
        )

    await until(agree, what="the page's rows equal GET /symbols/contexts")
    assert {r["symbol"] for r in table(user).rows} >= REPLAYED
    row = page_rows(user)["BTCUSDT 1m"]
    assert 0 <= row["score"] <= 100
    assert row["components_text"].startswith("Tr ")
    assert row["price_text"] != "—"


async def test_filters_hide_what_the_api_filter_excludes(
    user: User, ui_platform: UiPlatform
) -> None:
    await on_market(user, ui_platform)
    await until(lambda: len(table(user).rows) >= len(REPLAYED), what="every symbol listed")

    user.find(marker="symbol-filter").type("ethusdt")
    assert page_rows(user).keys() == api_rows(ui_platform, symbol="ETHUSDT").keys()
    assert [r["symbol"] for r in table(user).rows] == ["ETHUSDT"]
    user.find(marker="symbol-filter").clear()
    assert len(table(user).rows) >= len(REPLAYED)

    scores = sorted(r["score"] for r in api_rows(ui_platform).values())
    threshold = round(scores[len(scores) // 2])
    slider = next(iter(user.find(marker="min-score").elements))
    assert isinstance(slider, ui.slider)
    with user:
        slider.set_value(threshold)
    await until(
        lambda: page_rows(user).keys() == api_rows(ui_platform, min_score=threshold).keys(),
        what=f"rows with a score of at least {threshold}, as the API filters them",
    )
    assert all(r["score"] >= threshold for r in table(user).rows)

    with user:
        slider.set_value(0)
    direction = next(iter(user.find(marker="direction-filter").elements))
    assert isinstance(direction, ui.select)
    with user:
        direction.set_value("short")
    await until(
        lambda: page_rows(user).keys() == api_rows(ui_platform, direction="short").keys(),
        what="short rows, as the API filters them",
    )
    assert all(r["direction"] == "short" for r in table(user).rows)


async def test_a_new_context_updates_its_row_without_reload(
    user: User, ui_platform: UiPlatform
) -> None:
    await on_market(user, ui_platform)
    await until(lambda: "BTCUSDT 1m" in page_rows(user), what="BTCUSDT listed")
    shown = table(user)
    first = page_rows(user)["BTCUSDT 1m"]["timestamp"]
    await until(
        lambda: page_rows(user)["BTCUSDT 1m"]["timestamp"] > first,
        what="a newer BTCUSDT candle close on the same page",
    )
    assert table(user) is shown  # the same element: updated in place, never reloaded
    newer = page_rows(user)["BTCUSDT 1m"]
    assert newer["candle_text"] != "—"
    assert (
        newer["timestamp"]
        <= public(ui_platform, "/symbols/contexts", symbol="BTCUSDT")["contexts"][0]["timestamp"]
    )


async def test_a_click_on_a_row_opens_the_symbol(user: User, ui_platform: UiPlatform) -> None:
    await on_market(user, ui_platform)
    await until(lambda: "SOLUSDT 1m" in page_rows(user), what="SOLUSDT listed")
    row = page_rows(user)["SOLUSDT 1m"]
    user.find(marker="market-table").trigger("rowClick", [{}, row, 0])
    await see(user, "SOLUSDT · 1m")
    await see(user, "candles-chart")


def chart(user: User) -> dict[str, Any]:
    found = user.find(marker="candles-chart").elements
    assert len(found) == 1
    element = next(iter(found))
    assert isinstance(element, ui.echart)
    return element.options


def series(options: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in options["series"] if s["name"] == name)


async def chart_agrees(user: User, ui_platform: UiPlatform, symbol: str) -> list[dict[str, Any]]:
    """Poll until the chart's candles equal the API's; those candles."""

    def same() -> list[dict[str, Any]] | None:
        api = public(ui_platform, f"/symbols/{symbol}/candles", limit=500)["candles"]
        drawn = series(chart(user), "Candles")["data"]
        wanted = [[c["open"], c["close"], c["low"], c["high"]] for c in api]
        return api if drawn == wanted else None

    api: list[dict[str, Any]] = await until(
        same, what=f"the chart's candles equal the API's {symbol}"
    )
    return api


async def test_the_chart_draws_the_api_candles(user: User, ui_platform: UiPlatform) -> None:
    await on_market(user, ui_platform)
    await user.open("/symbol/ethusdt")
    await see(user, "ETHUSDT · 1m")
    api = await chart_agrees(user, ui_platform, "ETHUSDT")
    options = chart(user)
    candles = series(options, "Candles")
    assert candles["type"] == "candlestick"
    assert (candles["itemStyle"]["color"], candles["itemStyle"]["color0"]) == (UP, DOWN)
    volume = series(options, "Volume")
    assert [v["value"] for v in volume["data"]] == [c["volume"] for c in api]
    up_bar = next(i for i, c in enumerate(api) if c["close"] > c["open"])
    assert volume["data"][up_bar]["itemStyle"]["color"] == UP
    assert {z["type"] for z in options["dataZoom"]} == {"inside", "slider"}
    assert len(options["xAxis"][0]["data"]) == len(api)
    await see(user, "symbol-context")
    assert user.find(marker="context-score").elements

    def signals_agree() -> bool:
        drawn = chart(user)
        first, last = drawn["xAxis"][0]["data"][0], drawn["xAxis"][0]["data"][-1]
        shown = series(drawn, "Signals")["data"]
        api = public(ui_platform, "/signals", symbol="ETHUSDT")["signals"]
        wanted = [
            (x["price"], 0 if x["side"] == "BUY" else 180)
            for x in api
            if first <= minute(x["generated_at"]) <= last
        ]
        return sorted((p["value"][1], p["symbolRotate"]) for p in shown) == sorted(wanted)

    await until(signals_agree, what="the chart's signal markers are the API's signals")


def minute(ms: int) -> str:
    """The chart's x label of the candle holding ``ms`` (1m candles: its open minute, UTC)."""
    return datetime.fromtimestamp(ms // 60_000 * 60, tz=UTC).strftime("%m-%d %H:%M")


def ema(values: list[float], period: int) -> list[float | None]:
    """TA-Lib's EMA: the SMA of the first ``period`` values, then k = 2 / (period + 1)."""
    out: list[float | None] = [None] * len(values)
    if len(values) < period:
        return out
    k = 2 / (period + 1)
    prev = sum(values[:period]) / period
    out[period - 1] = prev
    for i in range(period, len(values)):
        prev = values[i] * k + prev * (1 - k)
        out[i] = prev
    return out


async def test_the_overlays_equal_an_independent_computation(
    user: User, ui_platform: UiPlatform
) -> None:
    await on_market(user, ui_platform)
    await user.open("/symbol/BTCUSDT")
    api = await chart_agrees(user, ui_platform, "BTCUSDT")
    options = chart(user)
    closes = [c["close"] for c in api]
    for period in (EMA_FAST, EMA_SLOW):
        drawn = series(options, f"EMA {period}")["data"]
        hand = ema(closes, period)
        assert drawn[: period - 1] == [None] * (period - 1)
        for got, want in zip(drawn[-10:], hand[-10:], strict=True):
            assert want is not None and got is not None
            assert math.isclose(got, want, rel_tol=1e-9)
    window = closes[-BB_PERIOD:]
    mean = sum(window) / BB_PERIOD
    width = BB_NBDEV * statistics.pstdev(window)
    bb = f"BB({BB_PERIOD},{BB_NBDEV:g})"
    assert math.isclose(series(options, f"{bb} middle")["data"][-1], mean, rel_tol=1e-9)
    assert math.isclose(series(options, f"{bb} upper")["data"][-1], mean + width, rel_tol=1e-9)
    assert math.isclose(series(options, f"{bb} lower")["data"][-1], mean - width, rel_tol=1e-9)


async def test_the_clients_open_trade_is_on_its_chart(user: User, ui_platform: UiPlatform) -> None:
    me = await on_market(user, ui_platform)
    r = ui_platform.api(
        "POST",
        "/trades/execute",
        me,
        json={"symbol": "XRPUSDT", "side": "BUY", "type": "MARKET", "quote_amount": "50"},
    )
    assert r.status_code == 201, r.text
    placed = r.json()
    await user.open("/symbol/XRPUSDT")
    await see(user, "candles-chart")
    options = chart(user)
    lines = [m["yAxis"] for m in series(options, "Candles")["markLine"]["data"]]
    assert float(placed["entry_price"]) in lines
    assert float(placed["stop_loss"]) in lines
    entries = series(options, "My trades")["data"]
    assert [p["value"][1] for p in entries] == [float(placed["entry_price"])]
    # on one of the chart's candles (which one is estimated: the replay's clock is not the wall's)
    assert entries[0]["value"][0] in options["xAxis"][0]["data"]
    await see(user, f"#{placed['id']} stop {placed['stop_loss']}")


async def test_an_unknown_symbol_says_so(user: User, ui_platform: UiPlatform) -> None:
    await on_market(user, ui_platform)
    await user.open("/symbol/NOPEUSDT")
    await see(user, "Unknown symbol: NOPEUSDT")
    await see(user, "unknown-symbol")
    await user.should_not_see(marker="candles-chart")


async def test_a_closed_candle_is_added_live(user: User, ui_platform: UiPlatform) -> None:
    await on_market(user, ui_platform)
    await user.open("/symbol/BNBUSDT")
    await see(user, "candles-chart")
    element = next(iter(user.find(marker="candles-chart").elements))
    first = chart(user)["xAxis"][0]["data"][-1]
    await until(
        lambda: chart(user)["xAxis"][0]["data"][-1] > first,
        what="a newer candle on the same chart",
    )
    assert next(iter(user.find(marker="candles-chart").elements)) is element  # no reload
    await chart_agrees(user, ui_platform, "BNBUSDT")


async def test_the_chart_draws_the_markets_nearest_levels(
    user: User, ui_platform: UiPlatform
) -> None:
    """The nearest support and resistance of ``/symbols/{s}/levels`` are lines on the chart."""
    await on_market(user, ui_platform)
    await user.open("/symbol/ETHUSDT")
    await see(user, "candles-chart")

    def agree() -> bool:
        api = public(ui_platform, "/symbols/ETHUSDT/levels", interval="1m", limit=1000)
        lines = {
            m["name"].split(" ")[0]: m["yAxis"]
            for m in series(chart(user), "Candles")["markLine"]["data"]
        }
        want = {}
        if api["supports"]:
            want["support"] = api["supports"][0]["center"]
        if api["resistances"]:
            want["resistance"] = api["resistances"][0]["center"]
        return bool(want) and all(lines.get(k) == v for k, v in want.items())

    # the page reloads its levels every 30 s; a candle closing may move them meanwhile
    await until(agree, timeout=45, what="the chart's level lines equal the API's nearest zones")
    user.find(marker="levels-switch").click()
    names = [m["name"] for m in series(chart(user), "Candles")["markLine"]["data"]]
    assert not any(n.startswith(("support", "resistance", "pivot")) for n in names)


async def test_the_table_names_each_symbols_regime(user: User, ui_platform: UiPlatform) -> None:
    """The Regime column is the market service's most likely regime of the stream."""
    await on_market(user, ui_platform)

    def agree() -> bool:
        api = {k: r.get("regime") for k, r in api_rows(ui_platform).items()}
        page = {k: r.get("regime_text") for k, r in page_rows(user).items()}
        fitted = {k: v for k, v in api.items() if v}
        return bool(fitted) and all(page.get(k) == v for k, v in fitted.items())

    # the page re-reads the contexts every 5 s; a refit may change a regime meanwhile
    await until(agree, timeout=60, what="the page's regimes equal the API's")
    assert {r["regime_text"] for r in page_rows(user).values()} <= {
        "calm",
        "normal",
        "volatile",
        "—",
    }


async def test_the_scanner_panel_shows_the_apis_ranking(
    user: User, ui_platform: UiPlatform
) -> None:
    await on_market(user, ui_platform)

    def agree() -> bool:
        api = [r["symbol"] for r in public(ui_platform, "/scanner", interval="1m", top=10)["rows"]]
        found = user.find(marker="scanner-table").elements
        page = [r["symbol"] for r in next(iter(found)).rows]  # type: ignore[attr-defined]
        return bool(api) and page == api

    # the panel re-reads every 10 s; the ranking moves when a candle closes
    await until(agree, timeout=45, what="the panel's order equals GET /scanner's")
