"""Connections, write transactions and the simulation's row cache, shared by every verb.

A write runs under the plane's per-cluster lock (every write on SQLite, which has one writer) in
one transaction that first bumps the cluster's resourceVersion counter, which locks its row, so
writes to one cluster are serialised across processes on PostgreSQL too. A dry run
(``dryRun=All``) rolls the transaction back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbit.simplane.engine import Record
from orbit.simplane.kube import errors, objects, writes
from orbit.simplane.kube.cache import RowCache
from orbit.simplane.kube.objects import Row
from orbit.simplane.kube.simulation import Simulation
from orbit.simplane.settings import SimPlaneSettings

Hold = Callable[[str], AbstractAsyncContextManager[None]]
_WORKLOADS = frozenset(objects.WORKLOADS)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Ctx:
    """One authenticated request: the cluster as it is now, and the request."""

    rec: Record
    now: float
    request: Request

    @property
    def uid(self) -> str:
        return self.rec.uid

    def param(self, name: str) -> str | None:
        return self.request.query.get(name)

    @property
    def content_type(self) -> str:
        return self.request.headers.get("content-type") or ""


@dataclass
class Txn:
    """An open write: its connection, the write's identity, and what it changed."""

    conn: AsyncConnection
    w: writes.Write
    changes: list[tuple[Row | None, Row | None]] = field(default_factory=list)
    reshaped: bool = False  # many rows changed at once (a namespace or a CRD went)

    def saved(self, row: Row | None) -> None:
        self.changes.append((row, None))

    def removed(self, row: Row) -> None:
        self.changes.append((None, row))


class Store:
    def __init__(self, *, sql: AsyncEngine, hold: Hold, settings: SimPlaneSettings) -> None:
        self.sql = sql
        self.hold = hold
        self.settings = settings
        self.cache = RowCache()

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.sql.connect()

    async def simulation(
        self, conn: AsyncConnection, ctx: Ctx, *, version: int | None = None
    ) -> Simulation:
        """The cluster's pods, scheduled; rows from the cache when it holds this version."""
        if version is None:
            version = await objects.counter(conn, ctx.uid) or 0
        rows = self.cache.get(ctx.uid, version)
        if rows is None:
            rows = await objects.list_types(conn, ctx.uid, objects.WORKLOADS)
            self.cache.put(ctx.uid, version, rows)
        return Simulation(ctx.rec, rows, now=ctx.now, pod_latency=self.settings.pod_latency)

    @asynccontextmanager
    async def write(self, ctx: Ctx) -> AsyncIterator[Txn]:
        agent = ctx.request.headers.get("user-agent", "") or "unknown"
        manager = ctx.param("fieldManager") or agent.split("/", 1)[0].strip() or "unknown"
        dry = bool(ctx.param("dryRun"))
        async with self.hold(ctx.uid), self.sql.connect() as conn:
            trans = await conn.begin()
            try:
                rv = await objects.next_resource_version(conn, ctx.uid)
                if rv is None:
                    raise errors.KubeError(
                        404, "NotFound", f'simulated cluster "{ctx.uid}" not found'
                    )
                txn = Txn(conn, writes.Write(ctx.uid, ctx.now, rv, manager))
                yield txn
            except BaseException:
                await trans.rollback()
                self.cache.drop(ctx.uid)
                raise
            if dry:
                await trans.rollback()
                self.cache.drop(ctx.uid)
                return
            self._write_through(ctx.uid, txn)
            try:
                await trans.commit()
            except BaseException:
                self.cache.drop(ctx.uid)
                raise

    def _write_through(self, uid: str, txn: Txn) -> None:
        if txn.reshaped:
            self.cache.drop(uid)
            return
        changes = []
        for saved, removed in txn.changes:
            row = saved or removed
            if row is not None and (row.group, row.resource) in _WORKLOADS:
                changes.append((saved, removed))
        self.cache.wrote(uid, txn.w.rv, changes)
