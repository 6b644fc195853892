"""One controller: a kind's change feed feeding a work queue drained by N reconcile workers.

This is controller-runtime's shape (``pkg/internal/controller``) in asyncio. The source task
lists every object of the kind, enqueues each key, then follows the store's change feed from
the list's revision: an object of the kind enqueues its own key, an object of a watched kind
enqueues whatever its :class:`Watch` maps it to. The feed resumes from the last revision seen
after a store outage and relists when the store answers Gone (the revision fell out of the
feed); a relist also enqueues keys that vanished meanwhile, so a missed delete still gets its
pass. A resync task re-enqueues every known key now and then, so nothing depends on a perfect
feed: reconcilers are level-based and re-read the store on every pass.

With a :class:`~orbit.runtime.sharding.ShardGate` (several controller processes), a worker
skips every key whose shard this process does not hold now, and the keys of a shard it takes
are all enqueued again (see :mod:`orbit.runtime.sharding`).

Outcomes of a pass, as in controller-runtime: ``Result()`` forgets the key's backoff;
``Result(requeue_after=s)`` forgets it and looks again in ``s`` seconds; an exception is logged
with its traceback and retried with per-key exponential backoff; :class:`TerminalError` is
logged and not retried (the reconciler has recorded a ``Stalled`` condition a person can act on).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orbit import errors
from orbit.api import v1alpha1
from orbit.runtime.queue import (
    DEFAULT_BASE_DELAY,
    DEFAULT_MAX_DELAY,
    ExponentialBackoff,
    ShutDown,
    WorkQueue,
)
from orbit.runtime.reconcile import (
    Reconciler,
    Request,
    Result,
    TerminalError,
    Watch,
    log_fields,
    reconcile_id,
)
from orbit.runtime.sharding import ShardGate
from orbit.store.base import ResourceStore, WatchEvent

logger = logging.getLogger("orbit.runtime")

__all__ = [
    "Controller",
    "ControllerStats",
    "Reconciler",
    "Request",
    "Result",
    "TerminalError",
    "Watch",
    "log_fields",
    "reconcile_id",
]

_LIST_PAGE = 500


@dataclass
class ControllerStats:
    """Counters since start; ``in_flight`` is passes running now, ``queue_depth`` keys waiting."""

    reconciles: int = 0
    errors: int = 0
    terminal_errors: int = 0
    requeues: int = 0
    relists: int = 0
    in_flight: int = 0
    queue_depth: int = 0


class Controller:
    """Reconciles one kind with ``workers`` concurrent passes; see the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        store: ResourceStore,
        kind: type[v1alpha1.Resource],
        reconciler: Reconciler,
        workers: int = 4,
        resync_period: float | None = 300.0,
        watches: Iterable[Watch] = (),
        base_delay: float = DEFAULT_BASE_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        store_retry_max_delay: float = 30.0,
        shards: ShardGate | None = None,
        predicate: Callable[[WatchEvent], bool] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.name = name
        self.kind = kind
        self._store = store
        self._reconciler = reconciler
        self._workers = workers
        self._resync_period = resync_period
        self._watches = tuple(watches)
        # Which changes of the kind itself wake its key (adds and deletes always do).
        self._predicate = predicate
        self._watch_kinds = tuple(dict.fromkeys((kind, *(w.kind for w in self._watches))))
        self._queue: WorkQueue[Request] = WorkQueue(base_delay=base_delay, max_delay=max_delay)
        self._store_backoff: ExponentialBackoff[str] = ExponentialBackoff(
            base_delay=min(0.1, store_retry_max_delay), max_delay=store_retry_max_delay
        )
        self._known: set[Request] = set()
        self._revision: int | None = None
        self._synced = asyncio.Event()
        self._stats = ControllerStats()
        self._background: list[asyncio.Task[None]] = []
        self._worker_tasks: list[asyncio.Task[None]] = []
        self._started = False
        # Several controller processes: a key is worked on only by the holder of its shard.
        self._shards = shards

    @property
    def stats(self) -> ControllerStats:
        return dataclasses.replace(self._stats, queue_depth=len(self._queue))

    @property
    def queue(self) -> WorkQueue[Request]:
        """The work queue (for metrics and tests; use :meth:`enqueue` to add work)."""
        return self._queue

    @property
    def revision(self) -> int | None:
        """The newest store revision this controller has listed or seen on the feed."""
        return self._revision

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        """Resolve once the initial list has been enqueued."""
        await self._synced.wait()

    def enqueue(self, request: Request, *, after: float | None = None) -> None:
        """Ask for a pass over ``request`` (now, or ``after`` seconds from now)."""
        if after:
            self._queue.add_after(request, after)
        else:
            self._queue.add(request)

    async def start(self) -> None:
        """Start the source, resync and worker tasks; returns at once. Start only once."""
        if self._started:
            raise RuntimeError(f"controller {self.name} was already started")
        self._started = True
        logger.info("Starting controller with %d workers", self._workers, extra=self._fields())
        self._background.append(asyncio.create_task(self._source(), name=f"{self.name}-source"))
        if self._shards is not None:
            self._shards.on_acquired(self._on_shards_acquired)
        if self._resync_period:
            self._background.append(asyncio.create_task(self._resync(), name=f"{self.name}-resync"))
        self._worker_tasks = [
            asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
            for i in range(self._workers)
        ]

    # A grace period, not a deadline for the call: passes get `timeout`, then are cancelled.
    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop taking work, let in-flight passes finish for up to ``timeout`` s, then cancel."""
        logger.info("Stopping controller", extra=self._fields())
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._queue.shutdown(drain=False)
        if not self._worker_tasks:
            return
        _, pending = await asyncio.wait(self._worker_tasks, timeout=timeout)
        if pending:
            logger.warning(
                "Cancelling %d reconciles still running after %.1fs",
                len(pending),
                timeout,
                extra=self._fields(),
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # -- source: list, then follow the change feed --------------------------------------------

    async def _source(self) -> None:
        while True:
            try:
                if self._revision is None:
                    self._revision = await self._relist()
                    self._synced.set()
                logger.debug("Watching from revision %d", self._revision, extra=self._fields())
                async for event in self._store.watch(self._watch_kinds, since=self._revision):
                    self._on_event(event)
                    self._store_backoff.forget("store")
                # The feed ends only when the store closes: wait as after an outage, not spin.
                raise errors.Unavailable("the change feed ended")
            except errors.Gone:
                logger.info("Change feed expired; relisting", extra=self._fields())
                self._revision = None
                self._stats.relists += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self._store_backoff.when("store")
                logger.warning(
                    "Store error while %s (%s); retrying in %.2fs",
                    "watching" if self._revision is not None else "listing",
                    exc,
                    delay,
                    exc_info=not isinstance(exc, errors.Unavailable),
                    extra=self._fields(),
                )
                await asyncio.sleep(delay)

    async def _relist(self) -> int:
        logger.debug("Listing every %s", self.kind.KIND, extra=self._fields())
        seen: set[Request] = set()
        revision: int | None = None
        token: str | None = None
        while True:
            page = await self._store.list(self.kind, None, limit=_LIST_PAGE, continue_token=token)
            # The first page's revision: anything written after it arrives on the feed.
            revision = page.revision if revision is None else revision
            seen.update(Request.for_object(obj) for obj in page.items)
            token = page.continue_token
            if not token:
                break
        # Keys we knew that are gone now: their delete may have been lost with the feed.
        for request in sorted(seen | self._known, key=_order):
            self._queue.add(request, low=True)
        self._known = seen
        self._store_backoff.forget("store")
        logger.info("Listed %d objects at revision %d", len(seen), revision, extra=self._fields())
        return revision

    def _on_event(self, event: WatchEvent) -> None:
        obj = event.object
        self._revision = event.revision
        if obj.KIND == self.kind.KIND:
            request = Request.for_object(obj)
            if event.type == "DELETED":
                self._known.discard(request)
            else:
                self._known.add(request)
            if self._predicate is None or self._predicate(event):
                self._queue.add(request)
        for watch in self._watches:
            if watch.kind.KIND != obj.KIND or (watch.predicate and not watch.predicate(event)):
                continue
            try:
                for request in watch.map(obj):
                    if watch.delay > 0:
                        self._queue.add_after(request, watch.delay)
                    else:
                        self._queue.add(request)
            except Exception:
                name = obj.metadata.name
                logger.exception(
                    "Watch mapping of %s %s failed", obj.KIND, name, extra=self._fields()
                )

    async def _resync(self) -> None:
        assert self._resync_period
        await self._synced.wait()
        while True:
            # Jitter keeps many controllers from resyncing in lockstep.
            await asyncio.sleep(self._resync_period * random.uniform(1.0, 1.1))
            logger.debug("Resyncing %d objects", len(self._known), extra=self._fields())
            for request in sorted(self._known, key=_order):
                self._queue.add(request, low=True)  # after anything a change woke

    # -- workers -------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            try:
                request = await self._queue.get()
            except ShutDown:
                return
            try:
                await self._process(request)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not kill the worker
                logger.exception("Internal error handling %s", request, extra=self._fields())
            finally:
                self._queue.done(request)

    def _on_shards_acquired(self, shards: frozenset[int]) -> None:
        """Shards just taken (at start, or from a process that died): every key of them gets a
        pass, as after a relist. Keys seen later arrive through the feed as usual."""
        assert self._shards is not None
        gate = self._shards
        for request in sorted(self._known, key=_order):
            if gate.shard_of(request.namespace, request.name) in shards:
                self._queue.add(request)

    async def _process(self, request: Request) -> None:
        if self._shards is not None and not self._shards.owns(request.namespace, request.name):
            # Another process holds (or will take) this key's shard; it gives it a pass.
            self._queue.forget(request)
            return
        rid = uuid.uuid4().hex[:12]
        token = reconcile_id.set(rid)
        fields = log_fields(self.name, request, rid)
        self._stats.reconciles += 1
        self._stats.in_flight += 1
        try:
            logger.debug("Reconciling %s", request, extra=fields)
            result = await self._reconciler.reconcile(request)
        except TerminalError as exc:
            self._stats.terminal_errors += 1
            logger.error("Reconcile of %s stalled, not retrying: %s", request, exc, extra=fields)
            self._queue.forget(request)
            return
        except Exception as exc:
            self._stats.errors += 1
            self._stats.requeues += 1
            logger.error(
                "Reconcile of %s failed (retry %d), retrying with backoff: %s",
                request,
                self._queue.retries(request) + 1,
                exc,
                exc_info=True,
                extra=fields,
            )
            self._queue.add_rate_limited(request)
            return
        finally:
            self._stats.in_flight -= 1
            reconcile_id.reset(token)
        self._queue.forget(request)
        if result.requeue_after is not None:
            self._stats.requeues += 1
            logger.debug("Requeueing %s in %.2fs", request, result.requeue_after, extra=fields)
            self._queue.add_after(request, result.requeue_after)

    def _fields(self) -> dict[str, str]:
        return {"controller": self.name, "kind": self.kind.KIND}


def _order(request: Request) -> tuple[str, str]:
    return (request.namespace, request.name)
