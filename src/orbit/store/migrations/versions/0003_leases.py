"""Shard leases: controller processes split the keyspace and hold their shards by lease.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "shard_members",
        sa.Column("id", sa.String(128), primary_key=True, autoincrement=False),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_table(
        "shard_leases",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(128), nullable=True),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("acquired_at", sa.Double, nullable=False),
        sa.Column("transitions", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shard_leases")
    op.drop_table("shard_members")
