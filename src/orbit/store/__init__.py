"""The store: where Orbit's objects live, with Kubernetes API-server semantics.

``ResourceStore`` (in :mod:`orbit.store.base`) is the contract every other layer codes against;
:class:`SqlStore` implements it on SQLite (the embedded default) or PostgreSQL (at scale).
:func:`open_store` is the one way in: it builds the engine, migrates the schema to the newest
revision, and returns a ready store; :meth:`SqlStore.close` releases it.
"""

from __future__ import annotations

from orbit.store import engine as _engine
from orbit.store.base import ListResult, ResourceStore, WatchEvent
from orbit.store.sql import SqlStore


async def open_store(
    url: str,
    *,
    feed_retention: float = 600.0,
    poll_interval: float = 0.5,
    schema: str | None = None,
) -> SqlStore:
    """Open (and migrate) the store at ``url``: ``sqlite:///PATH`` or ``postgresql://...``.

    ``feed_retention``: seconds the change feed keeps each change (older ``since`` -> Gone).
    ``poll_interval``: how often watchers look for writes made by other processes.
    ``schema``: PostgreSQL only, a schema to keep every table in (created if missing); used to
    isolate tests sharing one database. Unavailable if the database cannot be reached.
    """
    engine = _engine.create_engine(url, schema=schema)
    try:
        await _engine.migrate(engine, schema=schema)
    except BaseException:
        await engine.dispose()
        raise
    return SqlStore(engine, feed_retention=feed_retention, poll_interval=poll_interval)


__all__ = ["ListResult", "ResourceStore", "SqlStore", "WatchEvent", "open_store"]
