"""Long/short ratios: Binance's futures statistics per symbol, period and timestamp.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_VALUES = (
    "global_ratio",
    "global_long",
    "top_account_ratio",
    "top_account_long",
    "top_position_ratio",
    "top_position_long",
    "taker_ratio",
    "taker_buy_vol",
    "taker_sell_vol",
)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "long_short",
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=4), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in _VALUES),
        sa.PrimaryKeyConstraint("symbol", "period", "timestamp", name=op.f("pk_long_short")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("long_short")
