"""The change feed: appending, polling, compaction, and the Gone rule (SQL side).

Why a watcher can trust what it reads: every write first increments the one-row revision
counter, and that row lock is held until commit, so revision N+1 cannot be handed out before N
has committed. A poll therefore reads the counter (``head``) first; every change up to ``head``
is then visible, and after reading them the watcher knows it has seen everything up to
``head`` even when none of it matched its filter.

Compaction drops a prefix of the feed (never a hole in the middle), so the smallest revision
still held says exactly which ``since`` values are still served; older ones raise
:class:`errors.Gone`, and the client must list again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from orbit import errors
from orbit.api import v1alpha1
from orbit.store import schema
from orbit.store.base import EventType, WatchEvent

BATCH = 500

_changes = schema.changes
_counter = schema.revision_counter


async def head(conn: AsyncConnection) -> int:
    """The newest committed revision."""
    return int((await conn.execute(sa.select(_counter.c.value))).scalar_one())


async def next_revision(conn: AsyncConnection) -> int:
    """Claim the next revision; takes the counter's row lock until the transaction ends."""
    stmt = sa.update(_counter).values(value=_counter.c.value + 1).returning(_counter.c.value)
    return int((await conn.execute(stmt)).scalar_one())


async def append(
    conn: AsyncConnection,
    *,
    revision: int,
    key: tuple[str, str, str],
    type_: EventType,
    body: str,
) -> None:
    kind, namespace, name = key
    await conn.execute(
        sa.insert(_changes).values(
            revision=revision,
            kind=kind,
            namespace=namespace,
            name=name,
            type=type_,
            body=body,
            created_at=time.time(),
        )
    )


async def oldest(conn: AsyncConnection) -> int | None:
    first = (await conn.execute(sa.select(sa.func.min(_changes.c.revision)))).scalar_one_or_none()
    return None if first is None else int(first)


def gone(since: int, first_kept: int) -> errors.Gone:
    return errors.Gone(
        f"too old resource version: {since} ({first_kept - 1}): the change feed no longer holds "
        "the changes after it; list again and watch from the revision of that list"
    )


async def check_resumable(conn: AsyncConnection, since: int) -> None:
    """Gone unless every change after ``since`` is still in the feed."""
    first = await oldest(conn)
    first_kept = first if first is not None else await head(conn) + 1
    if since < first_kept - 1:
        raise gone(since, first_kept)


@dataclass(frozen=True)
class Poll:
    events: list[WatchEvent]
    # Every change up to here has been read: the next poll continues after it.
    seen: int


async def poll(
    conn: AsyncConnection,
    *,
    after: int,
    kinds: Sequence[str],
    namespace: str | None,
    until: int | None = None,
) -> Poll:
    """The next changes after revision ``after`` matching the filter, oldest first; with
    ``until``, none newer than that revision."""
    newest = await head(conn)
    if until is not None:
        newest = min(newest, until)
    if newest <= after:
        return Poll([], after)
    query = (
        sa.select(_changes.c.revision, _changes.c.kind, _changes.c.type, _changes.c.body)
        .where(_changes.c.revision > after, _changes.c.revision <= newest)
        .order_by(_changes.c.revision)
        .limit(BATCH)
    )
    if kinds:
        query = query.where(_changes.c.kind.in_(kinds))
    if namespace is not None:
        query = query.where(_changes.c.namespace == namespace)
    rows = (await conn.execute(query)).all()
    # Checked after reading: rows compacted before the read would be missed silently.
    await check_resumable(conn, after)
    events = []
    for row in rows:
        try:
            cls = v1alpha1.kind_for(row.kind)
        except KeyError:
            continue  # a kind this version does not know (written by a newer Orbit)
        obj = cls.model_validate(json.loads(row.body))
        events.append(WatchEvent(type=row.type, object=obj, revision=int(row.revision)))
    seen = int(rows[-1].revision) if len(rows) == BATCH else newest
    return Poll(events, seen)


async def compact(conn: AsyncConnection, *, older_than: float) -> int:
    """Drop the feed's prefix up to the newest change written before ``older_than`` (epoch s)."""
    cutoff = (
        await conn.execute(
            sa.select(sa.func.max(_changes.c.revision)).where(_changes.c.created_at < older_than)
        )
    ).scalar_one_or_none()
    if cutoff is None:
        return 0
    result = await conn.execute(sa.delete(_changes).where(_changes.c.revision <= cutoff))
    return int(result.rowcount)
