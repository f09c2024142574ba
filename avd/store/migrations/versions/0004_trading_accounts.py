"""Trading accounts: per-client paper accounts, the exposure each trade holds, risk mode.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "paper_accounts",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("starting_balance", sa.BigInteger(), nullable=False),
        sa.Column("since_trade_id", sa.Integer(), nullable=False),
        sa.Column("reset_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_paper_accounts")),
    )
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("exposure", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("risk_states") as batch:
        batch.add_column(sa.Column("mode", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("day", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("day_start_equity", sa.BigInteger(), nullable=True))
    # Open trades hold quantity x entry; pending ones reserve their requested
    # quantity at the limit price (or, lacking one, at the stop: the decision
    # price of a market order was not stored before this revision). Computed
    # in Python: the product of two atom counts overflows 64-bit integers.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, status, requested_quantity, open_quantity, entry_price, limit_price, "
            "stop_loss FROM trades WHERE status IN ('open', 'pending')"
        )
    ).all()
    for tid, status, req_q, open_q, entry, limit, stop in rows:
        if status == "open":
            if entry is None:
                continue
            atoms = int(open_q) * int(entry) // 100_000_000
        else:
            atoms = int(req_q) * int(limit if limit is not None else stop) // 100_000_000
        conn.execute(
            sa.text("UPDATE trades SET exposure = :e WHERE id = :id"), {"e": atoms, "id": tid}
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("risk_states") as batch:
        batch.drop_column("day_start_equity")
        batch.drop_column("day")
        batch.drop_column("mode")
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("exposure")
    op.drop_table("paper_accounts")
