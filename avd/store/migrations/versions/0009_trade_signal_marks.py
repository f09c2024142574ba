"""The signals each trade worker has handled, per symbol (a take-over replays only the rest).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "trade_signal_marks",
        sa.Column("holder", sa.String(length=140), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("generated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("holder", "symbol", "interval", name=op.f("pk_trade_signal_marks")),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("trade_signal_marks")
