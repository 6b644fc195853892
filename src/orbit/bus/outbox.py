"""The outbox: lifecycle events kept in the store's database, in order, with named cursors.

Why: the store is the source of truth, and a bus (NATS, or a webhook receiver) can be down.
The publisher (:mod:`orbit.bus.publisher`) derives each event from the change feed and appends
it here *in the same transaction* that advances its own cursor, so a crash loses nothing and
repeats nothing. Everything downstream (the relay to the bus, each webhook) reads the outbox
from a cursor of its own, advanced only after the event was handed on: a consumer that was
down resumes where it stopped.

Two tables (migration 0004): ``lifecycle_events`` (``seq`` = the store revision the event was
derived from, so the order is the store's; ``id`` unique, so deriving an event twice keeps one
row) and ``bus_cursors`` (name -> position). Rows older than the retention are pruned.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbit.bus.events import LifecycleEvent
from orbit.store import engine as engines

metadata = sa.MetaData()

lifecycle_events = sa.Table(
    "lifecycle_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(300), nullable=False, unique=True),
    sa.Column("namespace", sa.String(253), nullable=False),
    sa.Column("subject", sa.String(1024), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_lifecycle_events_ns_seq", "namespace", "seq"),
)

bus_cursors = sa.Table(
    "bus_cursors",
    metadata,
    sa.Column("name", sa.String(300), primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

_events = lifecycle_events
_cursors = bus_cursors


@dataclass(frozen=True)
class Entry:
    """One stored event and its position in the outbox."""

    seq: int
    event: LifecycleEvent


class Outbox:
    """Every statement on the two tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite = engines.is_sqlite(engine)

    async def append(
        self, entries: Sequence[Entry], *, cursor: str | None = None, position: int | None = None
    ) -> None:
        """Store ``entries`` (an id or seq already stored is skipped) and, in the same
        transaction, move ``cursor`` forward to ``position``."""
        async with self._transaction() as conn:
            if entries:
                dialect = sqlite if self._sqlite else postgresql
                now = time.time()
                rows = [
                    {
                        "seq": e.seq,
                        "id": e.event.id,
                        "namespace": e.event.namespace or "",
                        "subject": e.event.subject,
                        "body": e.event.to_json().decode(),
                        "created_at": now,
                    }
                    for e in entries
                ]
                await conn.execute(dialect.insert(_events).on_conflict_do_nothing(), rows)
            if cursor is not None and position is not None:
                await self._advance(conn, cursor, position)

    async def after(
        self, seq: int, *, limit: int = 200, namespace: str | None = None
    ) -> list[Entry]:
        """Events after ``seq`` in order (only those of ``namespace`` when given)."""
        query = sa.select(_events.c.seq, _events.c.body).where(_events.c.seq > seq)
        if namespace is not None:
            query = query.where(_events.c.namespace == namespace)
        query = query.order_by(_events.c.seq).limit(limit)
        async with self._transaction() as conn:
            rows = (await conn.execute(query)).all()
        return [Entry(int(r.seq), LifecycleEvent.from_json(r.body)) for r in rows]

    async def count_after(self, seq: int, *, namespace: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(_events).where(_events.c.seq > seq)
        if namespace is not None:
            query = query.where(_events.c.namespace == namespace)
        async with self._transaction() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def head(self) -> int:
        """The newest seq stored (0 when empty)."""
        async with self._transaction() as conn:
            found = (await conn.execute(sa.select(sa.func.max(_events.c.seq)))).scalar_one()
        return int(found or 0)

    async def cursor(self, name: str) -> int | None:
        async with self._transaction() as conn:
            found = (
                await conn.execute(sa.select(_cursors.c.position).where(_cursors.c.name == name))
            ).scalar_one_or_none()
        return None if found is None else int(found)

    async def set_cursor(self, name: str, position: int) -> None:
        """Move ``name`` forward to ``position`` (never backward)."""
        async with self._transaction() as conn:
            await self._advance(conn, name, position)

    async def drop_cursor(self, name: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(sa.delete(_cursors).where(_cursors.c.name == name))

    async def cursors(self, prefix: str) -> dict[str, int]:
        async with self._transaction() as conn:
            rows = (
                await conn.execute(
                    sa.select(_cursors.c.name, _cursors.c.position).where(
                        _cursors.c.name.startswith(prefix)
                    )
                )
            ).all()
        return {r.name: int(r.position) for r in rows}

    async def prune(self, *, older_than: float) -> int:
        """Drop events stored before ``older_than`` (epoch seconds)."""
        async with self._transaction() as conn:
            result = await conn.execute(sa.delete(_events).where(_events.c.created_at < older_than))
        return int(result.rowcount)

    async def _advance(self, conn: AsyncConnection, name: str, position: int) -> None:
        now = time.time()
        moved = await conn.execute(
            sa.update(_cursors)
            .where(_cursors.c.name == name, _cursors.c.position < position)
            .values(position=position, updated_at=now)
        )
        if moved.rowcount == 0:
            dialect = sqlite if self._sqlite else postgresql
            await conn.execute(
                dialect.insert(_cursors)
                .values(name=name, position=position, updated_at=now)
                .on_conflict_do_nothing(index_elements=["name"])
            )

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            if self._sqlite:
                await conn.execution_options(**{engines.SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                yield conn
