"""Trade workers and their leases on clients (several ``avd serve trade`` on one database).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "trade_workers",
        sa.Column("worker_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_trade_workers")),
    )
    op.create_table(
        "trade_leases",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("acquired_at", sa.Float(), nullable=False),
        sa.Column("takeovers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_trade_leases")),
    )
    op.create_index(op.f("ix_trade_leases_owner"), "trade_leases", ["owner"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_trade_leases_owner"), table_name="trade_leases")
    op.drop_table("trade_leases")
    op.drop_table("trade_workers")
