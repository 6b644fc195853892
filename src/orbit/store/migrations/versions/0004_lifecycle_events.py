"""The lifecycle event outbox and the bus cursors (orbit.bus.outbox).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "lifecycle_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(300), nullable=False, unique=True),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("subject", sa.String(1024), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_lifecycle_events_ns_seq", "lifecycle_events", ["namespace", "seq"])
    op.create_table(
        "bus_cursors",
        sa.Column("name", sa.String(300), primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bus_cursors")
    op.drop_index("ix_lifecycle_events_ns_seq", table_name="lifecycle_events")
    op.drop_table("lifecycle_events")
