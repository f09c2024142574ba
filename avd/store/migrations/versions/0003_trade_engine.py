"""Trade engine: trades, their orders, fills and history, risk state, order id namespace.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "risk_states",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("peak_equity", sa.BigInteger(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("blocked_reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_risk_states")),
    )
    op.create_table(
        "trade_engine_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_trade_engine_meta")),
    )
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("requested_quantity", sa.BigInteger(), nullable=False),
        sa.Column("limit_price", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("open_quantity", sa.BigInteger(), nullable=False),
        sa.Column("entry_price", sa.BigInteger(), nullable=True),
        sa.Column("initial_stop", sa.BigInteger(), nullable=False),
        sa.Column("stop_loss", sa.BigInteger(), nullable=False),
        sa.Column("stop_version", sa.Integer(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("exit_price", sa.BigInteger(), nullable=True),
        sa.Column("realized_pnl", sa.BigInteger(), nullable=False),
        sa.Column("fees_quote", sa.BigInteger(), nullable=False),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("opened_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    op.create_index("ix_trades_client_status", "trades", ["client_id", "status"], unique=False)
    op.create_index(op.f("ix_trades_status"), "trades", ["status"], unique=False)
    op.create_table(
        "trade_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trades.id"],
            name=op.f("fk_trade_history_trade_id_trades"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_history")),
    )
    op.create_index(op.f("ix_trade_history_trade_id"), "trade_history", ["trade_id"], unique=False)
    op.create_table(
        "trade_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=36), nullable=False),
        sa.Column("exchange_order_id", sa.BigInteger(), nullable=True),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("stop_price", sa.BigInteger(), nullable=True),
        sa.Column("executed_qty", sa.BigInteger(), nullable=False),
        sa.Column("cumulative_quote", sa.BigInteger(), nullable=False),
        sa.Column("flag", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trades.id"],
            name=op.f("fk_trade_orders_trade_id_trades"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_trade_orders_client_order_id")),
    )
    op.create_index(op.f("ix_trade_orders_trade_id"), "trade_orders", ["trade_id"], unique=False)
    op.create_table(
        "trade_fills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("exchange_trade_id", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("commission_asset", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["trade_orders.id"],
            name=op.f("fk_trade_fills_order_id_trade_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_fills")),
        sa.UniqueConstraint("order_id", "exchange_trade_id", name=op.f("uq_trade_fills_order_id")),
    )
    op.create_index(op.f("ix_trade_fills_order_id"), "trade_fills", ["order_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_trade_fills_order_id"), table_name="trade_fills")
    op.drop_table("trade_fills")
    op.drop_index(op.f("ix_trade_orders_trade_id"), table_name="trade_orders")
    op.drop_table("trade_orders")
    op.drop_index(op.f("ix_trade_history_trade_id"), table_name="trade_history")
    op.drop_table("trade_history")
    op.drop_index(op.f("ix_trades_status"), table_name="trades")
    op.drop_index("ix_trades_client_status", table_name="trades")
    op.drop_table("trades")
    op.drop_table("trade_engine_meta")
    op.drop_table("risk_states")
