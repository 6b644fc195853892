"""Shard leases: several controller processes split the keyspace, and no key is reconciled by
two of them at once.

The keyspace (``namespace/name`` of every reconciled object, whatever its kind) is split into
``shards`` by a stable hash (CRC-32, never Python's salted ``hash()``). Two tables in the store
(``orbit.store.schema``) hold the rest:

- ``shard_members``: every controller process alive, a heartbeat row with an expiry;
- ``shard_leases``: one row per shard, its holder and the expiry of its lease.

Each process (:class:`ShardMember`) runs a *round* every third of a lease, in one transaction
timed by the database's clock (``clock_timestamp()`` on PostgreSQL; never a process's clock, so
hosts need not agree on the time): renew its own heartbeat; count the members alive; renew the
leases it holds, up to its fair share (``ceil(shards / members)``); take unheld or expired shards
up to that share. A lease is renewed only while it has not expired in the database, and taken
only once it has, so two processes never hold one shard in the database at once.

Fencing on the process side: a round that started at local monotonic time ``t`` makes the
shards it renewed or took valid until ``t + 2/3 lease``. The database's expiry is at least
``t + lease`` (its ``now()`` is read after ``t``), so a process stops *starting* passes on a
shard at least a third of a lease before another process can take it; a renewal that fails (the
database is down) therefore stops the work in time. A process whose share shrinks (another
joined) just stops renewing its extra shards: they pass to the newcomer only at expiry, after
this process stopped working on them. Shards a round takes are announced to listeners (the
controllers, which re-enqueue every key of those shards: the new owner gives each a pass).

A process that dies (``kill -9``) stops renewing; its heartbeat and leases expire, the others'
fair share grows, and they take its shards over. A graceful stop releases at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbit.store import engine as engines
from orbit.store import schema

log = logging.getLogger("orbit.runtime.sharding")

# A shard is worked on until this fraction of its lease after the round that renewed it began.
WORK_FRACTION = 2.0 / 3.0
# Rounds run this often (as a fraction of the lease): two chances to renew before work stops.
ROUND_FRACTION = 1.0 / 3.0

_members = schema.shard_members
_leases = schema.shard_leases

Listener = Callable[[frozenset[int]], None]


def shard_of(namespace: str, name: str, shards: int) -> int:
    """The shard of key ``namespace/name``: stable across processes, hosts and restarts."""
    return zlib.crc32(f"{namespace}/{name}".encode()) % shards


class ShardGate(Protocol):
    """What a controller asks before a pass: is this key mine now?"""

    def owns(self, namespace: str, name: str) -> bool: ...

    def shard_of(self, namespace: str, name: str) -> int: ...

    def on_acquired(self, listener: Listener) -> None:
        """Call ``listener(shards)`` whenever this process takes shards."""
        ...


@dataclass(frozen=True)
class Round:
    """What one round left this member with."""

    held: frozenset[int]
    """Shards this member holds now (renewed or taken in this round)."""
    acquired: frozenset[int]
    """Of those, the ones taken in this round (not held by it a round ago)."""
    members: int
    share: int


class LeaseTable:
    """The leases in the database: every statement of the protocol, nothing kept in memory."""

    def __init__(self, engine: AsyncEngine, *, shards: int, lease_seconds: float) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._engine = engine
        self._sqlite = engines.is_sqlite(engine)
        self.shards = shards
        self.lease_seconds = lease_seconds

    async def ensure_shards(self) -> None:
        """Create the lease rows of every shard that has none (unheld); idempotent."""
        async with self._transaction() as conn:
            present = set((await conn.execute(sa.select(_leases.c.shard))).scalars())
            missing = [s for s in range(self.shards) if s not in present]
            if not missing:
                return
            rows = [
                {
                    "shard": s,
                    "holder": None,
                    "expires_at": 0.0,
                    "acquired_at": 0.0,
                    "transitions": 0,
                }
                for s in missing
            ]
            dialect = sqlite if self._sqlite else postgresql
            insert = dialect.insert(_leases).on_conflict_do_nothing(index_elements=["shard"])
            await conn.execute(insert, rows)

    async def round(self, member: str, held: Collection[int]) -> Round:
        """One heartbeat: renew ``member``, keep up to its fair share of ``held``, take more
        unheld or expired shards up to that share. One transaction, timed by the database."""
        async with self._transaction() as conn:
            now = await self._now(conn)
            expires = now + self.lease_seconds
            await self._heartbeat(conn, member, now=now, expires=expires)
            alive = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(_members)
                    .where(_members.c.expires_at > now)
                )
            ).scalar_one()
            members = max(int(alive), 1)
            share = math.ceil(self.shards / members)
            keep = sorted(s for s in held if s < self.shards)[:share]
            renewed: set[int] = set()
            if keep:
                renew = (
                    sa.update(_leases)
                    .where(
                        _leases.c.shard.in_(keep),
                        _leases.c.holder == member,
                        _leases.c.expires_at > now,
                    )
                    .values(expires_at=expires)
                    .returning(_leases.c.shard)
                )
                renewed = set((await conn.execute(renew)).scalars())
            acquired: set[int] = set()
            if len(renewed) < share:
                free = _free(now)
                candidates = (
                    await conn.execute(
                        sa.select(_leases.c.shard)
                        .where(free, _leases.c.shard < self.shards)
                        .order_by(_leases.c.shard)
                    )
                ).scalars()
                for shard in candidates:
                    if len(renewed) + len(acquired) >= share:
                        break
                    take = (
                        sa.update(_leases)
                        .where(_leases.c.shard == shard, free)
                        .values(
                            holder=member,
                            expires_at=expires,
                            acquired_at=now,
                            transitions=_leases.c.transitions + 1,
                        )
                    )
                    if (await conn.execute(take)).rowcount == 1:
                        acquired.add(shard)
        return Round(
            held=frozenset(renewed | acquired),
            acquired=frozenset(acquired),
            members=members,
            share=share,
        )

    async def leave(self, member: str) -> None:
        """Release every lease of ``member`` at once and forget it (a graceful stop: call it
        only once no pass of this member runs)."""
        async with self._transaction() as conn:
            await conn.execute(
                sa.update(_leases)
                .where(_leases.c.holder == member)
                .values(holder=None, expires_at=0.0)
            )
            await conn.execute(sa.delete(_members).where(_members.c.id == member))

    async def holders(self) -> dict[int, str | None]:
        """Each shard's holder now (None: unheld or expired), by the database's clock."""
        async with self._transaction() as conn:
            now = await self._now(conn)
            rows = (
                await conn.execute(
                    sa.select(_leases.c.shard, _leases.c.holder, _leases.c.expires_at).order_by(
                        _leases.c.shard
                    )
                )
            ).all()
        return {
            int(r.shard): (r.holder if r.holder is not None and r.expires_at > now else None)
            for r in rows
        }

    async def transitions(self) -> dict[int, int]:
        """How many times each shard changed hands since its row was made."""
        async with self._transaction() as conn:
            rows = (await conn.execute(sa.select(_leases.c.shard, _leases.c.transitions))).all()
        return {int(r.shard): int(r.transitions) for r in rows}

    async def _heartbeat(
        self, conn: AsyncConnection, member: str, *, now: float, expires: float
    ) -> None:
        beat = sa.update(_members).where(_members.c.id == member).values(expires_at=expires)
        if (await conn.execute(beat)).rowcount == 0:
            await conn.execute(
                sa.insert(_members).values(id=member, started_at=now, expires_at=expires)
            )
        # Members long gone: keep the table small (their leases expired with them).
        await conn.execute(
            sa.delete(_members).where(_members.c.expires_at < now - 10 * self.lease_seconds)
        )

    async def _now(self, conn: AsyncConnection) -> float:
        """The database's clock, in epoch seconds."""
        query = (
            "SELECT (julianday('now') - 2440587.5) * 86400.0"
            if self._sqlite
            else "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8"
        )
        return float((await conn.execute(sa.text(query))).scalar_one())

    def _transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return engines.write_transaction(self._engine)


def _free(now: float) -> sa.ColumnElement[bool]:
    return sa.or_(_leases.c.holder.is_(None), _leases.c.expires_at <= now)


def member_id() -> str:
    """A name for this process, unique across hosts and restarts (shown in the lease table)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class ShardMember:
    """This process's membership: runs rounds in the background and answers :meth:`owns`."""

    def __init__(
        self,
        table: LeaseTable,
        *,
        member: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.id = member or member_id()
        self._clock = clock
        self._valid_until: dict[int, float] = {}
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._rounds = 0
        self.last_round: Round | None = None

    @property
    def shards(self) -> int:
        return self.table.shards

    @property
    def ready(self) -> bool:
        """True once a round has succeeded (this process knows what it holds)."""
        return self.last_round is not None

    def shard_of(self, namespace: str, name: str) -> int:
        return shard_of(namespace, name, self.table.shards)

    def owns(self, namespace: str, name: str) -> bool:
        return self.owns_shard(self.shard_of(namespace, name))

    def owns_shard(self, shard: int) -> bool:
        until = self._valid_until.get(shard)
        return until is not None and self._clock() < until

    def held(self) -> frozenset[int]:
        """The shards this process may work on now."""
        now = self._clock()
        return frozenset(s for s, until in self._valid_until.items() if now < until)

    def on_acquired(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        """Create the shards' rows, run a first round (best effort: a database that is down
        now is retried by the loop), then keep running rounds in the background."""
        if self._task is not None:
            raise RuntimeError("the shard member was already started")
        with contextlib.suppress(Exception):
            await self.table.ensure_shards()
        await self.step()
        self._task = asyncio.create_task(self._loop(), name="shard-leases")
        log.info(
            "Shard member %s: %d of %d shards",
            self.id,
            len(self.held()),
            self.shards,
            extra={"member": self.id},
        )

    async def stop(self) -> None:
        """Stop renewing and release every lease (call after the controllers stopped)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._valid_until = {}
        try:
            await self.table.leave(self.id)
        except Exception as exc:  # they expire by themselves
            log.warning("Could not release the shard leases (%s); they will expire", exc)

    async def step(self) -> Round | None:
        """One round; on failure the shards stay valid only until their deadline passes."""
        started = self._clock()
        try:
            result = await self.table.round(self.id, self.held())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "Renewing shard leases failed (%s); work on them stops at the lease deadline",
                exc,
                extra={"member": self.id},
            )
            return None
        deadline = started + self.table.lease_seconds * WORK_FRACTION
        before = self.held()
        self._valid_until = {s: deadline for s in result.held}
        self.last_round = result
        gained = result.held - before
        lost = before - result.held
        if gained or lost:
            log.info(
                "Shards: took %s, gave up %s; holding %d of %d (%d members)",
                _ranges(gained),
                _ranges(lost),
                len(result.held),
                self.shards,
                result.members,
                extra={"member": self.id},
            )
        if gained:
            for listener in self._listeners:
                try:
                    listener(frozenset(gained))
                except Exception:
                    log.exception("A shard listener failed")
        return result

    async def _loop(self) -> None:
        interval = self.table.lease_seconds * ROUND_FRACTION
        while True:
            await asyncio.sleep(interval)
            await self.step()


def _ranges(shards: Iterable[int]) -> str:
    found = sorted(shards)
    return ",".join(str(s) for s in found) if found else "none"
