"""SqlStore: the ResourceStore on SQLAlchemy (SQLite file or PostgreSQL).

Reads are single indexed queries (or one consistent snapshot for a list). Every write is one
transaction that first claims the next global revision (see :mod:`orbit.store.feed` for why
that makes the feed safe to poll), then reads the stored object, applies the rules of
:mod:`orbit.store.objects`, writes the row and appends the change. Within a process writers also
queue on an asyncio lock: writes are serialised by the database anyway, and waiting here costs
no pooled connection (and, on SQLite, no ``database is locked``).

A write that changes nothing (same labels, spec, status...) is not a write: it returns the
stored object and appends nothing, as the Kubernetes API server does, so controllers that
write their status on every pass do not wake themselves up forever.

Watchers are woken at once by writes of this process and poll every ``poll_interval`` for
writes of others; they hold no connection between polls.

Sealed secrets (:mod:`orbit.store.secrets`) ride on the object writes: ``create`` and
``update`` take ``secrets=`` and write those rows in the object's transaction, and an object's
final removal takes its rows with it. A write that changes only secrets is still a write of
the object (a new ``resourceVersion`` and ``generation``: its write-only spec changed).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbit import errors
from orbit.api import selectors, v1alpha1
from orbit.store import engine as engines
from orbit.store import feed, labels, objects, paging, schema
from orbit.store import secrets as stored_secrets
from orbit.store.base import EventType, ListResult, ResourceStore, WatchEvent
from orbit.store.hub import FeedHub
from orbit.store.secrets import SealedSecret, SecretRow

R = TypeVar("R", bound=v1alpha1.Resource)

log = logging.getLogger(__name__)
_rows = schema.resources
_timestamps = TypeAdapter(datetime)
_SELECTOR_BATCH = 500


def _timestamp() -> str:
    return str(_timestamps.dump_python(v1alpha1.now(), mode="json"))


@dataclass
class _Tx:
    """One write transaction, with the revision it claimed."""

    conn: AsyncConnection
    revision: int
    noop: bool = False

    async def fetch(self, kind: str, namespace: str, name: str) -> objects.Body | None:
        query = sa.select(_rows.c.body).where(
            _rows.c.kind == kind, _rows.c.namespace == namespace, _rows.c.name == name
        )
        text = (await self.conn.execute(query)).scalar_one_or_none()
        return None if text is None else dict(json.loads(text))

    async def put(
        self, cls: type[R], key: tuple[str, str], body: objects.Body, type_: EventType
    ) -> R:
        """Write ``body`` at this revision (insert, replace or remove) and append the change."""
        body["metadata"]["resourceVersion"] = str(self.revision)
        obj = cls.model_validate(body)
        text = json.dumps(body, separators=(",", ":"))
        namespace, name = key
        where = (_rows.c.kind == cls.KIND, _rows.c.namespace == namespace, _rows.c.name == name)
        if type_ == "ADDED":
            values = {"uid": body["metadata"]["uid"], "resource_version": self.revision}
            stmt: sa.Executable = sa.insert(_rows).values(
                kind=cls.KIND, namespace=namespace, name=name, body=text, **values
            )
            try:
                await self.conn.execute(stmt)
            except exc.IntegrityError as err:
                raise errors.AlreadyExists(
                    f'{cls.PLURAL} "{name}" already exists', kind=cls.KIND, name=name
                ) from err
        elif type_ == "MODIFIED":
            stmt = sa.update(_rows).where(*where).values(body=text, resource_version=self.revision)
            await self.conn.execute(stmt)
        else:
            await self.conn.execute(sa.delete(_rows).where(*where))
            await stored_secrets.remove_owner(self.conn, body["metadata"]["uid"])
        await feed.append(
            self.conn, revision=self.revision, key=(cls.KIND, *key), type_=type_, body=text
        )
        return obj


class SqlStore:
    """The ResourceStore on SQL. Build it with :func:`orbit.store.open_store`."""

    def __init__(
        self, engine: AsyncEngine, *, feed_retention: float = 600.0, poll_interval: float = 0.5
    ) -> None:
        self._engine = engine
        self._sqlite = engines.is_sqlite(engine)
        self.feed_retention = feed_retention
        self.poll_interval = poll_interval
        self._write_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._hub: FeedHub | None = None
        self._written = 0  # the newest revision this process committed
        self._closed = False
        self._compact_every = min(5.0, feed_retention)
        self._next_compaction = time.monotonic() + self._compact_every

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        """Stop watchers (their iteration ends) and release every connection."""
        self._closed = True
        self._notify()
        if self._hub is not None:
            await self._hub.close()  # wakes its watchers, which see the store closed
        # A write still in flight (its task not stopped yet) finishes before the pool goes:
        # a connection disposed of mid-transaction could keep SQLite's write lock held.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10), self._write_lock:
                pass
        await self._engine.dispose()

    # -- reads ---------------------------------------------------------------------------

    async def get(self, cls: type[R], namespace: str | None, name: str) -> R:
        ns, name = objects.key_of(cls, namespace, name)
        query = sa.select(_rows.c.body).where(
            _rows.c.kind == cls.KIND, _rows.c.namespace == ns, _rows.c.name == name
        )
        async with self._reading(snapshot=False) as conn:
            text = (await conn.execute(query)).scalar_one_or_none()
        if text is None:
            raise objects.not_found(cls, name)
        return cls.model_validate_json(text)

    async def list(
        self,
        cls: type[R],
        namespace: str | None = None,
        *,
        selector: selectors.Selector | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult[R]:
        cursor = paging.decode(continue_token) if continue_token else None
        limit = limit if limit is not None and limit > 0 else None
        query = sa.select(_rows.c.namespace, _rows.c.name, _rows.c.body).where(
            _rows.c.kind == cls.KIND
        )
        if namespace is not None and cls.NAMESPACED:
            query = query.where(_rows.c.namespace == namespace)
        if selector:
            query = query.where(*labels.prefilter(_rows.c.body, selector, sqlite=self._sqlite))
        query = query.order_by(_rows.c.namespace, _rows.c.name)
        batch = None if limit is None else (limit + 1 if not selector else _SELECTOR_BATCH)
        items: list[R] = []
        more = False
        async with self._reading() as conn:
            revision = await feed.head(conn)
            while True:
                page = query if cursor is None else query.where(_after(*cursor))
                rows = (await conn.execute(page if batch is None else page.limit(batch))).all()
                for row in rows:
                    body = json.loads(row.body)
                    if selector and not selector.matches(body["metadata"].get("labels", {})):
                        continue
                    if limit is not None and len(items) == limit:
                        more = True
                        break
                    items.append(cls.model_validate(body))
                    cursor = (row.namespace, row.name)
                if more or batch is None or len(rows) < batch:
                    break
                cursor = (rows[-1].namespace, rows[-1].name)
            if not more or not items:
                return ListResult(items=items, revision=revision)
            last = (items[-1].metadata.namespace or "", items[-1].metadata.name)
            remaining = None
            if not selector:
                count = sa.select(sa.func.count()).select_from(
                    query.where(_after(*last)).subquery()
                )
                remaining = int((await conn.execute(count)).scalar_one())
        return ListResult(items, revision, paging.encode(*last), remaining)

    async def revision(self) -> int:
        async with self._reading(snapshot=False) as conn:
            return await feed.head(conn)

    # -- writes --------------------------------------------------------------------------

    async def create(
        self,
        obj: R,
        *,
        secrets: Mapping[str, SealedSecret | None] | None = None,
        uid: str | None = None,
    ) -> R:
        cls = type(obj)
        body = objects.new_body(obj, created=_timestamp(), uid=uid)
        key = objects.key_of(cls, obj.metadata.namespace, obj.metadata.name)
        async with self._writing() as tx:
            if cls.NAMESPACED:
                holder = await tx.fetch(v1alpha1.Namespace.KIND, "", key[0])
                if holder is None:
                    raise objects.namespace_not_found(key[0])
                if objects.is_deleting(holder):
                    raise objects.namespace_terminating(key[0])
            created = await tx.put(cls, key, body, "ADDED")
            if secrets:
                await stored_secrets.write(tx.conn, body["metadata"]["uid"], secrets)
            return created

    async def update(
        self, obj: R, *, secrets: Mapping[str, SealedSecret | None] | None = None
    ) -> R:
        cls = type(obj)
        key = objects.key_of(cls, obj.metadata.namespace, obj.metadata.name)
        incoming = obj.to_dict()
        async with self._writing() as tx:
            stored = await self._fetch_current(tx, cls, key, obj.metadata)
            body = objects.updated_body(cls, stored, incoming)
            if objects.is_deleting(body) and not objects.has_finalizers(body):
                return await tx.put(cls, key, body, "DELETED")
            uid = stored["metadata"]["uid"]
            if secrets and await stored_secrets.write(tx.conn, uid, secrets):
                return await tx.put(cls, key, objects.with_new_spec(stored, body), "MODIFIED")
            return await self._modify(tx, cls, key, stored, body)

    async def update_status(self, obj: R) -> R:
        cls = type(obj)
        key = objects.key_of(cls, obj.metadata.namespace, obj.metadata.name)
        incoming = obj.to_dict()
        async with self._writing() as tx:
            stored = await self._fetch_current(tx, cls, key, obj.metadata)
            return await self._modify(tx, cls, key, stored, objects.status_body(stored, incoming))

    async def delete(
        self, cls: type[R], namespace: str | None, name: str, *, resource_version: str | None = None
    ) -> R:
        key = objects.key_of(cls, namespace, name)
        if cls.KIND == v1alpha1.Namespace.KIND:
            await self._drop_events_of_empty_namespace(name)
        async with self._writing() as tx:
            stored = await tx.fetch(cls.KIND, *key)
            if stored is None:
                raise objects.not_found(cls, name)
            objects.check_preconditions(cls, stored, resource_version=resource_version, uid=None)
            if objects.is_deleting(stored):
                tx.noop = True
                return cls.model_validate(stored)
            if cls.KIND == v1alpha1.Namespace.KIND:
                held = await _count_in_namespace(tx.conn, name)
                if held:
                    raise objects.namespace_not_empty(name, held)
            body = objects.marked_for_deletion(stored, now=_timestamp())
            return await tx.put(
                cls, key, body, "MODIFIED" if objects.has_finalizers(body) else "DELETED"
            )

    # -- sealed secrets ------------------------------------------------------------------

    async def get_secret(self, owner_uid: str, name: str) -> SecretRow | None:
        async with self._reading(snapshot=False) as conn:
            return await stored_secrets.get(conn, owner_uid, name)

    async def list_secret_names(self, owner_uid: str) -> builtins.list[str]:
        async with self._reading(snapshot=False) as conn:
            return await stored_secrets.names(conn, owner_uid)

    async def put_secret(self, owner_uid: str, name: str, sealed: SealedSecret | None) -> None:
        async with self._writing_secrets() as conn:
            if sealed is not None and not await stored_secrets.owner_exists(conn, owner_uid):
                raise errors.NotFound(f"no object has uid {owner_uid}: its secret is not kept")
            await stored_secrets.write(conn, owner_uid, {name: sealed})

    async def secret_rows(
        self,
        *,
        exclude_key_id: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> builtins.list[SecretRow]:
        async with self._reading(snapshot=False) as conn:
            return await stored_secrets.page(
                conn, exclude_key_id=exclude_key_id, after=after, limit=limit
            )

    async def rewrap(self, swaps: Sequence[tuple[SecretRow, SealedSecret]]) -> int:
        if not swaps:
            return 0
        async with self._writing_secrets() as conn:
            done = 0
            for old, new in swaps:
                done += await stored_secrets.swap(conn, old, new)
            return done

    async def secret_key_ids(self) -> dict[str, int]:
        async with self._reading(snapshot=False) as conn:
            return await stored_secrets.key_ids(conn)

    async def _drop_events_of_empty_namespace(self, namespace: str) -> None:
        """Events are a record of what happened, not content: a namespace whose only remaining
        objects are Events may be deleted, and its Events go first (each with its own change,
        so watchers see them go)."""
        async with self._engine.connect() as conn:
            held = await _count_in_namespace(conn, namespace)
        if not held or set(held) != {v1alpha1.Event.KIND}:
            return
        for event in (await self.list(v1alpha1.Event, namespace)).items:
            with contextlib.suppress(errors.NotFound):
                await self.delete(v1alpha1.Event, namespace, event.metadata.name)

    async def _fetch_current(
        self, tx: _Tx, cls: type[R], key: tuple[str, str], meta: v1alpha1.ObjectMeta
    ) -> objects.Body:
        stored = await tx.fetch(cls.KIND, *key)
        if stored is None:
            raise objects.not_found(cls, key[1])
        objects.check_preconditions(
            cls, stored, resource_version=meta.resource_version, uid=meta.uid
        )
        return stored

    @staticmethod
    async def _modify(
        tx: _Tx, cls: type[R], key: tuple[str, str], stored: objects.Body, body: objects.Body
    ) -> R:
        if objects.same_content(body, stored):
            tx.noop = True
            return cls.model_validate(stored)
        return await tx.put(cls, key, body, "MODIFIED")

    # -- change feed ---------------------------------------------------------------------

    async def watch(
        self,
        kinds: tuple[type[v1alpha1.Resource], ...] = (),
        *,
        namespace: str | None = None,
        since: int | None = None,
    ) -> AsyncIterator[WatchEvent]:
        names = {k.KIND for k in kinds}
        async with self._reading() as conn:
            if since is None:
                since = await feed.head(conn)
            else:
                await feed.check_resumable(conn, since)
        hub = await self._feed_hub()
        while not self._closed:
            moved = hub.moved()  # taken first: a move while we read still wakes us
            cursor = hub.cursor
            buffered = hub.since(since)
            if buffered is None:  # behind what the hub holds: catch up from the database
                # Never past the hub's cursor: no watcher is ahead of what the hub has read, so
                # a reader fed by the hub (the informer cache) has every change any watcher
                # in this process has handed out.
                async with self._reading() as conn:
                    result = await feed.poll(
                        conn, after=since, kinds=sorted(names), namespace=namespace, until=cursor
                    )
                since = result.seen
                for event in result.events:
                    yield event
                continue
            for event in buffered:
                obj = event.object
                if (not names or obj.KIND in names) and (
                    namespace is None or (obj.metadata.namespace or "") == namespace
                ):
                    yield event
            since = max(since, cursor)
            if hub.cursor <= since:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await moved.wait()

    def buffered_changes(self, since: int) -> tuple[builtins.list[WatchEvent], int] | None:
        """Every change after ``since`` that this process's feed reader holds in memory, and
        the revision up to which that is complete; None when it does not reach back that far
        (or no watcher started it). For caches that must be as fresh as any watch event this
        process has seen (:mod:`orbit.runtime.cache`); no database access."""
        hub = self._hub
        if hub is None:
            return None
        cursor = hub.cursor
        events = hub.since(since)
        return None if events is None else (events, max(cursor, since))

    async def follow_changes(self) -> None:
        """Start this process's feed reader now (the first watcher starts it otherwise), so
        :meth:`buffered_changes` has something to hand an informer cache."""
        self._check_open()
        await self._feed_hub()

    async def caught_up_with_own_writes(self, timeout: float = 2.0) -> bool:  # noqa: ASYNC109
        """Wait until the feed reader has read every change this process committed (at once
        when it has: a write pokes it); False without a reader or after ``timeout`` seconds.
        A cache that waits for this before a read reads this process's own writes."""
        hub = self._hub
        if hub is None:
            return False
        try:
            async with asyncio.timeout(timeout):
                while hub.cursor < self._written and not self._closed:
                    moved = hub.moved()
                    if hub.cursor >= self._written:
                        break
                    await moved.wait()
        except TimeoutError:
            return False
        return hub.cursor >= self._written

    async def _feed_hub(self) -> FeedHub:
        """The process's one reader of the change feed, started by the first watcher."""
        if self._hub is None:
            async with self._reading() as conn:
                start = await feed.head(conn)
            if self._hub is None:  # another watcher may have started it meanwhile
                self._hub = FeedHub(
                    self._poll_feed, self._head, start=start, interval=self.poll_interval
                )
        return self._hub

    async def _poll_feed(self, after: int) -> feed.Poll:
        async with self._reading() as conn:
            return await feed.poll(conn, after=after, kinds=(), namespace=None)

    async def _head(self) -> int:
        async with self._reading() as conn:
            return await feed.head(conn)

    async def compact(self) -> int:
        """Drop changes older than ``feed_retention`` now; returns how many went."""
        async with self._write_lock:
            return await self._compact()

    async def _compact_quietly(self) -> None:
        """Compaction riding on a write: the write has committed, so a failure here must not
        turn into an error for its caller; the next write tries again."""
        try:
            removed = await self._compact()
        except errors.Unavailable as err:
            log.warning("Compacting the change feed failed, will retry: %s", err)
        else:
            if removed:
                log.debug("Compacted the change feed", extra={"removed": removed})

    async def _compact(self) -> int:
        self._next_compaction = time.monotonic() + self._compact_every
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            await self._begin_write(conn)
            async with conn.begin():
                return await feed.compact(conn, older_than=time.time() - self.feed_retention)

    # -- plumbing ------------------------------------------------------------------------

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if self._hub is not None:
            self._hub.poke()

    def _check_open(self) -> None:
        if self._closed:
            raise errors.Unavailable("the store is closed")

    @contextlib.asynccontextmanager
    async def _reading(self, *, snapshot: bool = True) -> AsyncIterator[AsyncConnection]:
        """A read-only connection; ``snapshot``: all its statements see one state of the
        database (pass False for a single statement, which is consistent by itself)."""
        self._check_open()
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            if not snapshot:
                await engines.single_statement(conn)
            elif not self._sqlite:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    async def _begin_write(self, conn: AsyncConnection) -> None:
        if self._sqlite:
            await conn.execution_options(**{engines.SQLITE_BEGIN: "IMMEDIATE"})

    @contextlib.asynccontextmanager
    async def _writing_secrets(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction on secret rows alone: no object changes, so no revision."""
        self._check_open()
        async with (
            self._write_lock,
            engines.translate_errors(self._engine),
            self._engine.connect() as conn,
        ):
            await self._begin_write(conn)
            async with conn.begin():
                yield conn

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[_Tx]:
        self._check_open()
        async with self._write_lock:
            async with engines.translate_errors(self._engine), self._engine.connect() as conn:
                await self._begin_write(conn)
                async with conn.begin() as trans:
                    tx = _Tx(conn, await feed.next_revision(conn))
                    yield tx
                    if tx.noop:
                        await trans.rollback()
            if not tx.noop:
                self._written = max(self._written, tx.revision)
                self._notify()
                if time.monotonic() >= self._next_compaction:
                    await self._compact_quietly()


def _after(namespace: str, name: str) -> sa.ColumnElement[bool]:
    return sa.tuple_(_rows.c.namespace, _rows.c.name) > sa.tuple_(
        sa.literal(namespace), sa.literal(name)
    )


async def _count_in_namespace(conn: AsyncConnection, namespace: str) -> Counter[str]:
    query = (
        sa.select(_rows.c.kind, sa.func.count())
        .where(_rows.c.namespace == namespace)
        .group_by(_rows.c.kind)
    )
    return Counter({row[0]: int(row[1]) for row in (await conn.execute(query)).all()})


if TYPE_CHECKING:

    def _conforms(store: SqlStore) -> ResourceStore:
        """mypy proves here that SqlStore satisfies the ResourceStore protocol."""
        return store
