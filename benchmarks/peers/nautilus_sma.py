"""NautilusTrader's ``BacktestEngine`` on the SMA(10)/SMA(30) crossover (run in its own venv).

A strategy with Nautilus's own ``SimpleMovingAverage`` indicators buys on the
fast-over-slow cross and closes on the opposite cross with market orders, on
a cash account at Binance; only ``engine.run()`` is timed (bars loaded).
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal

import numpy as np
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import SimpleMovingAverage
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy


class CrossConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal


class SmaCross(Strategy):
    def __init__(self, config: CrossConfig) -> None:
        super().__init__(config)
        self.fast = SimpleMovingAverage(10)
        self.slow = SimpleMovingAverage(30)
        self.prev: float | None = None
        self.trades = 0

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        self.register_indicator_for_bars(self.config.bar_type, self.fast)
        self.register_indicator_for_bars(self.config.bar_type, self.slow)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        if not self.slow.initialized:
            return
        diff = self.fast.value - self.slow.value
        iid = self.config.instrument_id
        if self.prev is not None:
            if self.prev < 0 < diff and self.portfolio.is_flat(iid):
                qty = self.instrument.make_qty(self.config.trade_size)
                self.submit_order(self.order_factory.market(iid, OrderSide.BUY, qty))
                self.trades += 1
            elif self.prev > 0 > diff and self.portfolio.is_net_long(iid):
                self.close_all_positions(iid)
        self.prev = diff


def engine_for(d: dict[str, np.ndarray]) -> tuple[BacktestEngine, SmaCross]:
    engine = BacktestEngine(
        BacktestEngineConfig(trader_id="BACKTESTER-001", logging=LoggingConfig(log_level="ERROR"))
    )
    engine.add_venue(
        venue=Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(1_000_000_000, USDT), Money(0, BTC)],
    )
    inst = TestInstrumentProvider.btcusdt_binance()
    engine.add_instrument(inst)
    bar_type = BarType.from_str(f"{inst.id}-1-MINUTE-LAST-EXTERNAL")
    df = pd.DataFrame(
        {k: np.array(d[k], dtype=np.float64) for k in ("open", "high", "low", "close", "volume")},
        index=pd.to_datetime(d["open_time"] + 60_000, unit="ms", utc=True),
    )
    engine.add_data(BarDataWrangler(bar_type, inst).process(df))
    cfg = CrossConfig(instrument_id=inst.id, bar_type=bar_type, trade_size=Decimal("0.1"))
    strat = SmaCross(cfg)
    engine.add_strategy(strat)
    return engine, strat


ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--bars", type=int, default=0)
a = ap.parse_args()
data = dict(np.load(a.data))
if a.bars:
    data = {k: v[: a.bars] for k, v in data.items()}
best = float("inf")
for _ in range(a.repeat):
    eng, st = engine_for(data)
    t0 = time.perf_counter()
    eng.run()
    best = min(best, time.perf_counter() - t0)
    trades = st.trades
    eng.dispose()
print(json.dumps({"seconds": best, "trades": trades}))
