"""The namespace index of ``resources`` ends with the name, so every index names one row.

``ix_resources_namespace_kind`` (namespace, kind) matched a point lookup by kind, namespace
and name as well as the primary key did in the planner's eyes when statistics were missing
or stale (a new database, autovacuum off or behind): PostgreSQL then scanned every object of
the kind in the namespace for each read by name, 14 ms at 14,000 clusters. With the name
last, whichever index the planner picks finds the row directly; counting what a namespace
holds still uses its (namespace, kind) prefix.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_resources_namespace_kind_name", "resources", ["namespace", "kind", "name"])
    op.drop_index("ix_resources_namespace_kind", table_name="resources")


def downgrade() -> None:
    op.create_index("ix_resources_namespace_kind", "resources", ["namespace", "kind"])
    op.drop_index("ix_resources_namespace_kind_name", table_name="resources")
