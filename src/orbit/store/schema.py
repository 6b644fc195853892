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

- ``secrets``: sealed (envelope-encrypted) secret material owned by an object (a Credential's
  secret data, a cluster's kubeconfig), keyed by the owner's uid and a name. The store never
  sees plaintext: ``orbit.crypto`` seals before and opens after. Rows go with their owner.
- ``api_tokens``: API tokens, the secret part stored only as an argon2 hash.
- ``audit_log``: the append-only, hash-chained audit record (``orbit.security.audit``).
- ``shard_members`` and ``shard_leases``: controller processes alive (a heartbeat with an
  expiry) and which of them holds each shard of the controllers' keyspace until when
  (``orbit.runtime.sharding``). Expiries are the database's clock, never a process's.

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
    # The name comes last so that a planner without statistics choosing this index over the
    # primary key for a read by name still finds one row, not scans the kind (0005).
    sa.Index("ix_resources_namespace_kind_name", "namespace", "kind", "name"),
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

secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("owner_uid", sa.String(36), nullable=False),
    sa.Column("name", sa.String(63), nullable=False),
    # Which key-encryption key wrapped the data key (rotation re-wraps row by row).
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("wrapped_key", sa.Text, nullable=False),
    sa.Column("nonce", sa.Text, nullable=False),
    sa.Column("ciphertext", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.PrimaryKeyConstraint("owner_uid", "name", name="pk_secrets"),
    sa.Index("ix_secrets_key_id", "key_id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True, autoincrement=False),
    sa.Column("user", sa.String(253), nullable=False),
    # JSON lists: groups the identity had when the token was issued (OIDC), and its scopes.
    sa.Column("groups", sa.Text, nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=True),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Index("ix_api_tokens_user", "user"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(253), nullable=False),
    sa.Column("verb", sa.String(32), nullable=False),
    sa.Column("resource", sa.String(128), nullable=False),
    sa.Column("namespace", sa.String(63), nullable=False),
    sa.Column("name", sa.String(253), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_actor", "actor"),
    sa.Index("ix_audit_log_namespace", "namespace"),
)

shard_members = sa.Table(
    "shard_members",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True, autoincrement=False),
    # Seconds since the epoch by the database's clock.
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)

shard_leases = sa.Table(
    "shard_leases",
    metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.String(128), nullable=True),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("acquired_at", sa.Double, nullable=False),
    # How many times the shard changed hands (tests and operators see failovers here).
    sa.Column("transitions", sa.BigInteger, nullable=False),
)
