"""The Client service's tables (SQLAlchemy 2 declarative models).

The ledger is append-only: rows of :class:`LedgerEntry` are never updated or
deleted, and a client's balance is the sum of its entries. The ``users`` row
doubles as the account row that writers lock (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite serializes writers with ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from avd.store.money import Money, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A client or an admin; also the account row that writers lock."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # bumped to revoke every token issued before (block, password change)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    totp_secret: Mapped[str | None] = mapped_column(Text, default=None)  # Fernet token
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    """A one-time 2FA recovery code (SHA-256 of a high-entropy code)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class RefreshToken(Base):
    """An issued refresh token; used once (rotation), then revoked."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Deposit(Base):
    """A deposit through the payment simulator, unique per idempotency key."""

    __tablename__ = "deposits"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))  # succeeded | failed | pending
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ClosedTrade(Base):
    """A closed trade reported by the trade engine, with the fee it cost."""

    __tablename__ = "closed_trades"
    __table_args__ = (UniqueConstraint("user_id", "trade_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    trade_ref: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(20))
    notional: Mapped[Decimal] = mapped_column(Money)
    profit: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    charged: Mapped[Decimal] = mapped_column(Money)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    """One immutable movement of a client's prepaid balance (signed amount)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_user_created", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # deposit | fee_charge | refund | adjustment
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"), default=None)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("closed_trades.id"), default=None)
    actor_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """A client's Binance API key pair, both halves Fernet-encrypted."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    key_enc: Mapped[str] = mapped_column(Text)
    secret_enc: Mapped[str] = mapped_column(Text)
    key_last4: Mapped[str] = mapped_column(String(4))
    secret_last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientParameters(Base):
    """A client's bot parameters (validated JSON)."""

    __tablename__ = "client_parameters"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GlobalParameters(Base):
    """The platform-wide parameters (one row, id 1)."""

    __tablename__ = "global_parameters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JournalEntry(Base):
    """An audit-log line: who did what to whom, never a secret."""

    __tablename__ = "journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, default=None)
    subject_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str] = mapped_column(Text, default="{}")


class RateLimitWindow(Base):
    """The recent hits on one key (the login attempts of one address), for every process.

    Stored, not kept in memory, so the limit holds across the processes that
    share the database; a row whose window has passed is deleted.
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    hits: Mapped[str] = mapped_column(Text)  # JSON array of epoch seconds, oldest first
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # last hit + window


class CandleRecord(Base):
    """A closed candle (the seeds' PriceAndVolume storage).

    Candles are market data for the indicators, not money: prices and volumes
    are stored as doubles. Unknown optional fields are NULL.
    """

    __tablename__ = "candles"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    interval: Mapped[str] = mapped_column(String(4), primary_key=True)
    open_time: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    quote_volume: Mapped[float | None] = mapped_column(Float, default=None)
    trades: Mapped[float | None] = mapped_column(Float, default=None)
    taker_buy_base: Mapped[float | None] = mapped_column(Float, default=None)


class LongShortRecord(Base):
    """Binance's futures long/short statistics of one period (market data, as doubles).

    Written by the market service's long/short poller; NULL where an
    endpoint did not answer for that period.
    """

    __tablename__ = "long_short"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(4), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    global_ratio: Mapped[float | None] = mapped_column(Float, default=None)
    global_long: Mapped[float | None] = mapped_column(Float, default=None)
    top_account_ratio: Mapped[float | None] = mapped_column(Float, default=None)
    top_account_long: Mapped[float | None] = mapped_column(Float, default=None)
    top_position_ratio: Mapped[float | None] = mapped_column(Float, default=None)
    top_position_long: Mapped[float | None] = mapped_column(Float, default=None)
    taker_ratio: Mapped[float | None] = mapped_column(Float, default=None)
    taker_buy_vol: Mapped[float | None] = mapped_column(Float, default=None)
    taker_sell_vol: Mapped[float | None] = mapped_column(Float, default=None)


# -- the trade engine ------------------------------------------------------------------
# client_id is not a foreign key: the Client service may keep its accounts in
# another database when the services run apart.


class TradeRecord(Base):
    """A position from its entry order to its close (status: pending, open, closed, ...)."""

    __tablename__ = "trades"
    __table_args__ = (Index("ix_trades_client_status", "client_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(4))
    mode: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(16), default="manual")
    # pending -> open -> closed; or rejected; flagged when the exchange lost the entry
    status: Mapped[str] = mapped_column(String(12), index=True)
    order_type: Mapped[str] = mapped_column(String(16), default="MARKET")
    requested_quantity: Mapped[Decimal] = mapped_column(Money)
    limit_price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    quantity: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    open_quantity: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    entry_price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    initial_stop: Mapped[Decimal] = mapped_column(Money)
    stop_loss: Mapped[Decimal] = mapped_column(Money)
    stop_version: Mapped[int] = mapped_column(Integer, default=0)
    # the StopPlan as JSON (trailing, break-even, take-profits, time stop)
    plan: Mapped[str] = mapped_column(Text, default="{}")
    exit_price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    realized_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    fees_quote: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    #: the exposure the trade holds against the risk caps (quote asset): reserved
    #: at booking (quantity x decision price), quantity x entry once open,
    #: reduced by partial exits, 0 once closed; summed under the entry guard
    exposure: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    close_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    opened_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OrderRecord(Base):
    """One exchange order of a trade, by its deterministic client order id."""

    __tablename__ = "trade_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"), index=True)
    client_order_id: Mapped[str] = mapped_column(String(36), unique=True)
    exchange_order_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    purpose: Mapped[str] = mapped_column(String(12))  # entry | exit | stop | partial
    symbol: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    stop_price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    executed_qty: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    cumulative_quote: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    flag: Mapped[str | None] = mapped_column(Text, default=None)
    #: paper trading: a MARKET order decided at this time (a signal's candle
    #: close) fills at the first trade after it; kept to place it again after
    #: a restart (the paper exchange lives in memory)
    after_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FillRecord(Base):
    """One execution of an order."""

    __tablename__ = "trade_fills"
    __table_args__ = (UniqueConstraint("order_id", "exchange_trade_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("trade_orders.id", ondelete="CASCADE"), index=True
    )
    exchange_trade_id: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal] = mapped_column(Money)
    qty: Mapped[Decimal] = mapped_column(Money)
    commission: Mapped[Decimal] = mapped_column(Money)
    commission_asset: Mapped[str] = mapped_column(String(16))
    ts: Mapped[int] = mapped_column(BigInteger)


class TradeEventRecord(Base):
    """The history of a trade: placed, stop moved, partial exit, closed, flagged."""

    __tablename__ = "trade_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskStateRecord(Base):
    """A client's risk state that must survive a restart (peak equity, drawdown block)."""

    __tablename__ = "risk_states"

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peak_equity: Mapped[Decimal | None] = mapped_column(Money, default=None)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str] = mapped_column(Text, default="")
    #: the trading mode the peak equity was observed in (paper and live
    #: accounts are different accounts: a switch restarts the peak)
    mode: Mapped[str | None] = mapped_column(String(8), default=None)
    #: the UTC day (ISO date) the daily loss limit counts, and the account's
    #: equity when it started: restored as they were, not re-derived
    day: Mapped[str | None] = mapped_column(String(10), default=None)
    day_start_equity: Mapped[Decimal | None] = mapped_column(Money, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaperAccountRecord(Base):
    """A client's paper trading account: its starting balance and since when it counts.

    The balances are rebuilt at start from ``starting_balance`` and the
    recorded fills of the client's paper trades with an id above
    ``since_trade_id`` (the trades before its last reset).
    """

    __tablename__ = "paper_accounts"

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(16), default="USDT")
    starting_balance: Mapped[Decimal] = mapped_column(Money)
    since_trade_id: Mapped[int] = mapped_column(Integer, default=0)
    reset_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeeDueRecord(Base):
    """A platform fee owed on a closed trade, kept until the Client service has charged it.

    Written in the transaction that closes the trade (an outbox): a fee is
    never lost when the Client service is down, and the charge is idempotent
    per ``trade_ref``, so a retry never charges twice.
    """

    __tablename__ = "fees_due"

    trade_id: Mapped[int] = mapped_column(
        ForeignKey("trades.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(Integer, index=True)
    trade_ref: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(20))
    notional: Mapped[Decimal] = mapped_column(Money)
    profit: Mapped[Decimal] = mapped_column(Money)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the Client service confirmed the charge (null: still owed)
    charged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)


class MetaRecord(Base):
    """Key-value facts of the trade engine's database (its client order id namespace)."""

    __tablename__ = "trade_engine_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TradeWorkerRecord(Base):
    """A running trade worker (``avd serve trade`` with leases): its heartbeat.

    Times are the database's clock, in seconds since the epoch, so workers
    on several machines agree on what has expired.
    """

    __tablename__ = "trade_workers"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float] = mapped_column(Float)


class TradeLeaseRecord(Base):
    """Which trade worker owns a client now, until when (see ``avd.services.trade.leases``)."""

    __tablename__ = "trade_leases"

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    expires_at: Mapped[float] = mapped_column(Float)
    acquired_at: Mapped[float] = mapped_column(Float)
    #: take-overs of this client so far (a new owner after the lease expired)
    takeovers: Mapped[int] = mapped_column(Integer, default=0)


class TradeSignalMarkRecord(Base):
    """The newest signal of a stream a trade worker has handled for every client it owned.

    ``holder``: the worker's id, or ``client:<id>`` for the marks a worker
    left with a client it gave back. A worker taking a client over trades
    only the waiting signals newer than the previous holder's marks (see
    ``avd.services.trade.signals``).
    """

    __tablename__ = "trade_signal_marks"

    holder: Mapped[str] = mapped_column(String(140), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    interval: Mapped[str] = mapped_column(String(8), primary_key=True)
    generated_at: Mapped[int] = mapped_column(BigInteger)
