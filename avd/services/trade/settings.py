"""The TradeEngine service's settings (the ``trade`` section of ``avd run``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from avd.services.trade.risk import RiskLimits


class TradeEngineSettings(BaseModel):
    """The trade engine's configuration (the ``trade`` section of ``avd run``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: where "live" clients trade: the simulator of ``avd run``, or Binance
    live_exchange: Literal["sim", "binance"] = "sim"
    risk: RiskLimits = Field(default_factory=lambda: RiskLimits())
    #: the currency trading accounts are valued in (symbols must be quoted in it)
    account_currency: str = Field("USDT", pattern=r"^[A-Z0-9]{2,10}$")
    #: what a new paper account starts with (a client may reset it to another balance)
    paper_starting_balance: Decimal = Field(Decimal(10000), gt=0, max_digits=20, decimal_places=8)
    paper_taker_bps: Decimal = Decimal(10)
    paper_maker_bps: Decimal = Decimal(10)
    paper_slippage_bps: Decimal = Decimal(0)
    #: paper orders of signals fill at the first price this long after the
    #: signal's candle close (the backtest's ``fills.latency_ms``)
    paper_latency_ms: int = Field(0, ge=0)
    protective_orders: bool = True
    stop_limit_offset_bps: Decimal = Decimal(50)
    #: how long the list of enabled bots is cached
    bots_cache_s: float = Field(10.0, ge=0)
    #: a stream price older than this is fetched again before an entry
    price_max_age_s: float = Field(10.0, gt=0)
    #: how often fees the Client service could not be charged are tried again
    fee_retry_s: float = Field(5.0, gt=0)
