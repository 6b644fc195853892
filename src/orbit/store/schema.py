"""The SQL tables behind :class:`orbit.store.SqlStore` (SQLAlchemy Core, SQLite and PostgreSQL).

- ``resources``: one row per object, keyed by (kind, namespace, name); ``namespace`` is ``''``
  for cluster-scoped kinds so the key never holds NULL. ``body`` is the object's JSON (with its
  ``resourceVersion``); the columns beside it exist only to be filtered and ordered on.
- ``changes``: the change feed, one row per write, keyed by the global revision. Compaction
  drops a prefix of it, so the feed is always a contiguous run of revisions and "the oldest
  revision kept" says exactly what a watcher may resume from.
- ``revision_counter``: a single row. Every write increments it first, inside its transaction;
  the row lock this takes serialises writers (across processes on PostgreSQL), so revisions
  commit in the order they are handed out and a poller reading ``revision > last`` never skips
  a transaction that commits late.

The Alembic migrations in ``migrations/versions`` create exactly these; keep them in step.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("kind", sa.String(63), nullable=False),
    sa.Column("namespace", sa.String(63), nullable=False),
    sa.Column("name", sa.String(253), nullable=False),
    sa.Column("uid", sa.String(36), nullable=False),
    sa.Column("resource_version", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("kind", "namespace", "name", name="pk_resources"),
    sa.UniqueConstraint("uid", name="uq_resources_uid"),
    # Counting what a Namespace still holds (before deleting it) groups by kind per namespace.
    sa.Index("ix_resources_namespace_kind", "namespace", "kind"),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(63), nullable=False),
    sa.Column("namespace", sa.String(63), nullable=False),
    sa.Column("name", sa.String(253), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    # Seconds since the epoch (float): compared only with the writer's own clock arithmetic.
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_changes_created_at", "created_at"),
)

revision_counter = sa.Table(
    "revision_counter",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
)
