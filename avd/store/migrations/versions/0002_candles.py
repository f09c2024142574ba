"""Candle history: closed candles per symbol and interval.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "candles",
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("interval", sa.String(length=4), nullable=False),
        sa.Column("open_time", sa.BigInteger(), nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("quote_volume", sa.Float(), nullable=True),
        sa.Column("trades", sa.Float(), nullable=True),
        sa.Column("taker_buy_base", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("symbol", "interval", "open_time", name=op.f("pk_candles")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("candles")
