"""SimPlane: the simulated Cluster Plane, a stand-in for real infrastructure with its own database.

Every operation is keyed by the cluster's uid and runs as one short transaction: load the row,
let :mod:`orbit.simplane.engine` replay what time allows, apply the request, write the row back.
Calls for one uid are serialised in-process (SQLite: all writes are, as SQLite has one writer);
across processes on PostgreSQL the row lock and the uid primary key keep a cluster from being
created twice. Reads project the state to ``now`` without writing.

Injected faults: a call that would change something fails with probability ``failure_rate``,
half of the time before the change (rolled back) and half after it was committed (a lost
response), so callers must be idempotent.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbit.simplane import db, engine, kubeconfig
from orbit.simplane.kube import objects as kube_objects
from orbit.simplane.kube.service import KubeAPI
from orbit.simplane.models import (
    SIZES,
    SimCluster,
    SimClusterSpec,
    SimDeletion,
    SimNotFound,
    SimPermanentFault,
    SimTransientFault,
)
from orbit.simplane.settings import SimPlaneSettings

log = logging.getLogger(__name__)

_CREATE_RETRIES = 3
# PostgreSQL advisory lock held while creating the plane's tables (any stable 64-bit number).
_DDL_LOCK = 0x5F0B17_51A9E


class SimPlane:
    """The simulated Cluster Plane. Open with ``await SimPlane.open(settings)``."""

    def __init__(self, settings: SimPlaneSettings, sql: AsyncEngine) -> None:
        self._settings = settings
        self._sql = sql
        self._failure_rate = settings.failure_rate
        self._rng = random.Random(settings.seed)
        self._locks = _KeyedLocks(per_key=not db.is_sqlite(settings.database_url))
        self.kube = KubeAPI(
            sql=sql, hold=self._locks.hold, settings=settings, load=self._api_record
        )
        """Each cluster's Kubernetes API, served by :mod:`orbit.simplane.api` at the endpoint."""

    @classmethod
    async def open(cls, settings: SimPlaneSettings) -> SimPlane:
        sql = db.create_engine(settings.database_url)
        async with sql.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Processes starting together (orbit server roles) would race to create tables.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK})
            await conn.run_sync(db.metadata.create_all)
        return cls(settings, sql)

    async def close(self) -> None:
        await self._sql.dispose()

    async def __aenter__(self) -> SimPlane:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def settings(self) -> SimPlaneSettings:
        return self._settings

    def configure_faults(self, *, failure_rate: float, seed: int | None = None) -> None:
        """Change fault injection at run time (chaos tests turn it on and off)."""
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self._failure_rate = failure_rate
        if seed is not None:
            self._rng = random.Random(seed)

    def endpoint(self, uid: str) -> str:
        """The URL of the cluster's Kubernetes API: ``{endpoint_base}/{uid}/k8s``."""
        return f"{self._settings.endpoint_base}/{uid}/k8s"

    async def ensure_cluster(self, spec: SimClusterSpec) -> SimCluster:
        """Create the cluster if absent, else converge it toward ``spec``; returns its state."""
        _check(spec)
        async with self._locks.hold(spec.uid):
            for attempt in range(_CREATE_RETRIES):
                try:
                    with _database_faults():
                        return await self._ensure(spec)
                except IntegrityError:
                    # Another process created the same uid between our read and our insert.
                    log.debug("Cluster uid=%s created concurrently; re-reading it", spec.uid)
                    if attempt == _CREATE_RETRIES - 1:
                        raise SimTransientFault(
                            f"cluster {spec.uid} is being created concurrently; retry",
                            committed=False,
                        ) from None
        raise AssertionError("unreachable")

    async def delete_cluster(self, uid: str) -> SimDeletion:
        """Tear the cluster down; idempotent, ``gone`` once nothing is left (or never was)."""
        async with self._locks.hold(uid):
            with _database_faults():
                return await self._delete(uid)

    async def _delete(self, uid: str) -> SimDeletion:
        async with self._transaction() as conn:
            rec = await _load(conn, uid, lock=True)
            if rec is None:
                return SimDeletion(gone=True)
            now, latency = self._now(), self._settings.node_latency
            progress = engine.advance(rec, now=now, latency=latency)
            actions: list[str] = []
            if rec.deleting_since is None:
                log.info("Deleting simulated cluster %s/%s uid=%s", rec.namespace, rec.name, uid)
                engine.begin_delete(rec, now=now, latency=latency)
                engine.advance(rec, now=now, latency=latency)
                actions.append(f"delete cluster {rec.name}")
            if engine.is_gone(rec):
                await conn.execute(delete(db.clusters).where(db.clusters.c.uid == uid))
                await kube_objects.delete_cluster(conn, uid)
                self.kube.forget(uid)
                actions.append(f"remove cluster {rec.name}")
            elif actions or progress.events:
                await _update(conn, rec)
            fault = self._roll(actions)
            if fault is not None and not fault.committed:
                raise fault
        if fault is not None:
            raise fault
        return SimDeletion(gone=engine.is_gone(rec), remaining=[n.name for n in rec.nodes])

    async def get_cluster(self, uid: str) -> SimCluster | None:
        with _database_faults():
            async with self._sql.connect() as conn:
                rec = await _load(conn, uid, lock=False)
        return self._project(rec)

    async def list_clusters(self) -> list[SimCluster]:
        query = select(db.clusters).order_by(db.clusters.c.created_at, db.clusters.c.uid)
        with _database_faults():
            async with self._sql.connect() as conn:
                rows = (await conn.execute(query)).all()
        views = (self._project(db.from_row(row)) for row in rows)
        return [v for v in views if v is not None]

    async def kubeconfig(self, uid: str) -> bytes:
        """A kubeconfig for the cluster's endpoint with its bearer token; SimNotFound if absent."""
        rec = await self._live_record(uid)
        return kubeconfig.render(
            namespace=rec.namespace,
            name=rec.name,
            endpoint=self.endpoint(uid),
            token=rec.token,
            ca_pem=self._settings.endpoint_ca,
        )

    async def authenticate(self, uid: str, token: str) -> bool:
        """Whether ``token`` is the bearer token of cluster ``uid`` (for its Kubernetes API)."""
        try:
            rec = await self._live_record(uid)
        except SimNotFound:
            return False
        return hmac.compare_digest(rec.token.encode(), token.encode())

    async def _ensure(self, spec: SimClusterSpec) -> SimCluster:
        now, latency = self._now(), self._settings.node_latency
        async with self._transaction() as conn:
            rec = await _load(conn, spec.uid, lock=True)
            actions: list[str] = []
            dirty = False
            if rec is not None:
                progress = engine.advance(rec, now=now, latency=latency)
                actions += progress.actions
                dirty = bool(progress.actions or progress.events)
                if engine.is_gone(rec):
                    await conn.execute(delete(db.clusters).where(db.clusters.c.uid == spec.uid))
                    await kube_objects.delete_cluster(conn, spec.uid)
                    self.kube.forget(spec.uid)
                    rec = None
            if rec is None:
                log.info(
                    "Creating simulated cluster %s/%s uid=%s", spec.namespace, spec.name, spec.uid
                )
                token = secrets.token_urlsafe(32)
                rec = engine.new_record(spec, now=now, token=token, latency=latency)
                engine.advance(rec, now=now, latency=latency)
                await conn.execute(insert(db.clusters).values(**db.to_row(rec)))
                actions.append(f"create cluster {spec.name}")
            else:
                if rec.deleting_since is None:
                    changes = engine.apply_spec(rec, spec, now=now, latency=latency)
                    changes += engine.advance(rec, now=now, latency=latency).actions
                    actions += changes
                    dirty = dirty or bool(changes)
                if dirty:
                    await _update(conn, rec)
            fault = self._roll(actions)
            if fault is not None and not fault.committed:
                raise fault
        if fault is not None:
            raise fault
        return engine.view(rec, endpoint=self.endpoint(rec.uid))

    async def _api_record(self, uid: str) -> engine.Record | None:
        """The cluster as its Kubernetes API sees it now; None once it is gone."""
        try:
            return await self._live_record(uid)
        except SimNotFound:
            return None

    async def _live_record(self, uid: str) -> engine.Record:
        with _database_faults():
            async with self._sql.connect() as conn:
                rec = await _load(conn, uid, lock=False)
        if rec is not None:
            engine.advance(rec, now=self._now(), latency=self._settings.node_latency)
        if rec is None or engine.is_gone(rec):
            raise SimNotFound(f'simulated cluster "{uid}" not found', kind="SimCluster", name=uid)
        return rec

    def _project(self, rec: engine.Record | None) -> SimCluster | None:
        if rec is None:
            return None
        engine.advance(rec, now=self._now(), latency=self._settings.node_latency)
        if engine.is_gone(rec):
            return None
        return engine.view(rec, endpoint=self.endpoint(rec.uid))

    def _roll(self, actions: list[str]) -> SimTransientFault | None:
        if not actions or self._failure_rate <= 0 or self._rng.random() >= self._failure_rate:
            return None
        committed = self._rng.random() < 0.5
        what = actions[0]
        if committed:
            text = f"simulated fault: {what} succeeded but the response was lost; retry"
        else:
            text = f"simulated fault: {what} failed (the infrastructure API timed out); retry"
        log.debug("Injecting transient fault: %s", text)
        return SimTransientFault(text, committed=committed)

    def _now(self) -> float:
        return self._settings.clock()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._sql.connect() as conn, conn.begin():
            yield conn


@contextmanager
def _database_faults() -> Iterator[None]:
    """The plane's database failing is the infrastructure API failing: a transient fault."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        raise SimTransientFault(
            f"the simulated plane's database is unavailable ({type(exc.orig).__name__}); retry",
            committed=False,
        ) from exc


def _check(spec: SimClusterSpec) -> None:
    """Permanent faults: requests no retry can fix. Raised before anything changes."""
    if spec.control_plane_count < 1:
        raise SimPermanentFault("a cluster needs at least one control-plane node")
    if spec.worker_count < 0:
        raise SimPermanentFault("the worker count cannot be negative")
    for group, size in (("control-plane", spec.control_plane_size), ("worker", spec.worker_size)):
        if size not in SIZES:
            raise SimPermanentFault(
                f"unknown machine size {size!r} for {group} nodes; "
                f"available sizes: {', '.join(SIZES)}"
            )
    total = spec.control_plane_count + spec.worker_count
    if spec.max_nodes is not None and total > spec.max_nodes:
        raise SimPermanentFault(
            f"need {total} nodes, quota allows {spec.max_nodes}; "
            "lower the workers or raise the credential's nodeQuota"
        )


async def _load(conn: AsyncConnection, uid: str, *, lock: bool) -> engine.Record | None:
    query = select(db.clusters).where(db.clusters.c.uid == uid)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else db.from_row(row)


async def _update(conn: AsyncConnection, rec: engine.Record) -> None:
    values = db.to_row(rec)
    del values["uid"]
    await conn.execute(update(db.clusters).where(db.clusters.c.uid == rec.uid).values(**values))


class _KeyedLocks:
    """One asyncio lock per key, dropped when unused; a single lock when ``per_key`` is False."""

    def __init__(self, *, per_key: bool) -> None:
        self._per_key = per_key
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        key = key if self._per_key else ""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
