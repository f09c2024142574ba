from __future__ import annotations

import time
from decimal import Decimal

from tests.exchange.simulator.conftest import START_MS, Sim, run, same, source_rows


def test_create_pings_and_syncs_time(paused_sim: Sim) -> None:
    async def go() -> tuple[dict[str, int], dict[str, object]]:
        c = await paused_sim.create()
        try:
            return await c.get_server_time(), await c.ping()
        finally:
            await c.close_connection()

    t, pong = run(go())
    assert pong == {}
    assert abs(t["serverTime"] - time.time() * 1000) < 5000


def test_exchange_info_has_real_filters(paused_sim: Sim) -> None:
    async def go() -> dict[str, dict[str, object]]:
        c = await paused_sim.create()
        try:
            info = await c.get_exchange_info()
            return {s["symbol"]: s for s in info["symbols"]}
        finally:
            await c.close_connection()

    syms = run(go())
    assert set(syms) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"}
    btc = {f["filterType"]: f for f in syms["BTCUSDT"]["filters"]}  # type: ignore[attr-defined]
    assert btc["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert btc["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert btc["NOTIONAL"]["minNotional"] == "5.00000000"
    assert syms["BTCUSDT"]["baseAsset"] == "BTC" and syms["BTCUSDT"]["quoteAsset"] == "USDT"
    xrp = {f["filterType"]: f for f in syms["XRPUSDT"]["filters"]}  # type: ignore[attr-defined]
    assert xrp["LOT_SIZE"]["stepSize"] == "0.10000000"
    # every recorded price is on the tick
    for sym, s in syms.items():
        tick = Decimal(
            next(f for f in s["filters"] if f["filterType"] == "PRICE_FILTER")["tickSize"]  # type: ignore[attr-defined]
        )
        for row in list(source_rows(sym).values())[:500]:
            for px in row[1:5]:
                assert Decimal(px) % tick == 0, (sym, px, tick)


def test_historical_klines_equal_the_source_rows(paused_sim: Sim) -> None:
    day_before = START_MS - 86_400_000

    async def go() -> list[list[object]]:
        c = await paused_sim.create()
        try:
            return await c.get_historical_klines("BTCUSDT", "1m", day_before)  # type: ignore[no-any-return]
        finally:
            await c.close_connection()

    rows = run(go())
    src = source_rows("BTCUSDT")
    assert len(rows) == 1440  # paged (1000 + 440), up to the replay clock
    for r in rows:
        s = src[int(r[0])]  # type: ignore[arg-type]
        assert [same(str(a), b) for a, b in zip(r[1:6], s[1:6], strict=True)] == [True] * 5
        assert r[6] == int(s[6])
    assert rows[-1][0] == START_MS - 60_000


def test_depth_tickers_and_agg_trades_agree(paused_sim: Sim) -> None:
    paused_sim.admin("step", n=10)  # one full 1m candle at 6 s per step

    async def go() -> tuple[object, ...]:
        c = await paused_sim.create()
        try:
            depth = await c.get_order_book(symbol="ETHUSDT", limit=5)
            book = await c.get_orderbook_ticker(symbol="ETHUSDT")
            price = await c.get_symbol_ticker(symbol="ETHUSDT")
            kl = await c.get_klines(symbol="ETHUSDT", interval="1m", limit=2)
            aggs = await c.get_aggregate_trades(symbol="ETHUSDT", limit=1000)
            t24 = await c.get_ticker(symbol="ETHUSDT")
            return depth, book, price, kl, aggs, t24
        finally:
            await c.close_connection()

    depth, book, price, kl, aggs, t24 = run(go())
    assert depth["bids"][0] == [book["bidPrice"], book["bidQty"]]  # type: ignore[index]
    assert depth["asks"][0] == [book["askPrice"], book["askQty"]]  # type: ignore[index]
    assert Decimal(depth["asks"][0][0]) > Decimal(depth["bids"][0][0])  # type: ignore[index]
    last = kl[-1]  # type: ignore[index]
    assert last[0] == START_MS  # the candle replayed by the 10 steps, now closed
    assert price["price"] == last[4] == t24["lastPrice"]  # type: ignore[index]
    src = source_rows("ETHUSDT")[START_MS]
    assert same(last[5], src[5]) and same(last[4], src[4])
    # the synthesized aggregate trades of that candle add up to its volume
    in_candle = [a for a in aggs if START_MS <= a["T"] < START_MS + 60_000]  # type: ignore[attr-defined]
    assert in_candle
    assert sum(Decimal(a["q"]) for a in in_candle) == Decimal(src[5])
    ids = [a["a"] for a in aggs]  # type: ignore[attr-defined]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_unknown_path_and_bad_params_answer_json(paused_sim: Sim) -> None:
    r = paused_sim.http.get("/api/v3/nope")
    assert r.status_code == 404 and "code" in r.json()
    r = paused_sim.http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "7m"})
    assert r.status_code == 400 and r.json()["code"] == -1120
    r = paused_sim.http.get("/api/v3/depth", params={"symbol": "NOPEUSDT"})
    assert r.json()["code"] == -1121
    assert "X-MBX-USED-WEIGHT-1M" in r.headers
