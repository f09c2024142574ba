"""Services apart: the fees owed to the Client service (an outbox), paper orders' decision time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "fees_due",
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("trade_ref", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("notional", sa.BigInteger(), nullable=False),
        sa.Column("profit", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("charged_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["trades.id"],
            name=op.f("fk_fees_due_trade_id_trades"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trade_id", name=op.f("pk_fees_due")),
    )
    op.create_index(op.f("ix_fees_due_client_id"), "fees_due", ["client_id"], unique=False)
    op.create_index(op.f("ix_fees_due_charged_at"), "fees_due", ["charged_at"], unique=False)
    with op.batch_alter_table("trade_orders") as batch:
        batch.add_column(sa.Column("after_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("trade_orders") as batch:
        batch.drop_column("after_ms")
    op.drop_index(op.f("ix_fees_due_charged_at"), table_name="fees_due")
    op.drop_index(op.f("ix_fees_due_client_id"), table_name="fees_due")
    op.drop_table("fees_due")
