"""Alembic environment for the store: runs migrations on the connection handed in.

:func:`orbit.store.engine.migrate` opens a transaction on the async engine, takes the
migration lock, and passes its (sync-facing) connection in ``config.attributes["connection"]``;
every migration then runs inside that one transaction (Alembic sees an external transaction and
does not begin its own). There is no offline (``--sql``) mode: the store migrates itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from orbit.store import schema

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "orbit's migrations run through orbit.store.open_store(), which supplies the connection"
    )
context.configure(connection=connection, target_metadata=schema.metadata)
with context.begin_transaction():
    context.run_migrations()
