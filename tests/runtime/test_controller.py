"""Controller behaviour against the real store: events, coalescing, retries, watches, resync."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.runtime import (
    Controller,
    Request,
    Result,
    TerminalError,
    Watch,
    log_fields,
    reconcile_id,
)
from orbit.store import ResourceStore, SqlStore, feed
from orbit.store.base import WatchEvent

from .helpers import (
    FaultyStore,
    Recorder,
    credential,
    eventually,
    make_namespace,
    request,
)


@asynccontextmanager
async def running(store: Any, reconciler: Any, **options: Any) -> AsyncIterator[Controller]:
    options.setdefault("base_delay", 0.01)
    options.setdefault("max_delay", 0.1)
    controller = Controller(
        "test", store=store, kind=v1alpha1.Credential, reconciler=reconciler, **options
    )
    await controller.start()
    try:
        await asyncio.wait_for(controller.wait_synced(), 20)
        yield controller
    finally:
        await controller.stop(timeout=5)


async def test_reconciles_existing_objects_then_create_update_delete(store: SqlStore) -> None:
    await make_namespace(store)
    await store.create(credential("before"))
    rec = Recorder(store)
    async with running(store, rec):
        # Recorded, not just started: a pass still reading could land after the next one.
        await eventually(lambda: request("before") in {r for r, _ in rec.seen}, what="list")

        created = await store.create(credential("c1", description="v1"))
        await eventually(lambda: rec.seen[-1:] == [(request("c1"), "v1")], what="create")

        created.spec.description = "v2"
        await store.update(created)
        await eventually(lambda: rec.seen[-1:] == [(request("c1"), "v2")], what="update")

        await store.delete(v1alpha1.Credential, "team-a", "c1")
        await eventually(lambda: rec.seen[-1:] == [(request("c1"), None)], what="delete")


async def test_quick_updates_coalesce_into_few_passes(store: SqlStore) -> None:
    await make_namespace(store)
    gate = asyncio.Event()
    entered = asyncio.Event()

    async def slow_first(req: Request, call: int) -> Result:
        if call == 1:
            entered.set()
            await gate.wait()
        return Result()

    rec = Recorder(store, slow_first)
    async with running(store, rec, workers=4) as controller:
        obj = await store.create(credential("c", description="0"))
        await asyncio.wait_for(entered.wait(), 20)
        for i in range(1, 21):
            obj.spec.description = str(i)
            obj = await store.update(obj)
        # Let the feed deliver all 20 changes while the first pass is still held.
        last = int(obj.metadata.resource_version or 0)
        await eventually(lambda: (controller.revision or 0) >= last, what="feed caught up")
        assert rec.count(request("c")) == 1
        assert len(controller.queue) == 0, "the held key waits for done(), not in the queue"
        gate.set()
        await eventually(lambda: rec.last(request("c")) == "20", what="final state seen")
        await eventually(lambda: controller.stats.in_flight == 0)
    assert rec.count(request("c")) == 2, "level-based: 21 writes, one held pass + one more"


async def test_exception_retries_with_backoff_until_success(store: SqlStore) -> None:
    await make_namespace(store)

    async def flaky(req: Request, call: int) -> Result:
        if call <= 3:
            raise RuntimeError(f"transient failure {call}")
        return Result()

    rec = Recorder(store, flaky)
    async with running(store, rec) as controller:
        await store.create(credential("c"))
        await eventually(lambda: rec.count(request("c")) == 4, what="three retries then success")
        await eventually(lambda: controller.stats.in_flight == 0)
        assert controller.stats.errors == 3
        assert controller.queue.retries(request("c")) == 0, "success forgets the backoff"
        assert controller.queue.delayed == 0


async def test_backoff_delays_grow(store: SqlStore) -> None:
    await make_namespace(store)
    retries: list[int] = []
    holder: list[Controller] = []

    async def failing(req: Request, call: int) -> Result:
        retries.append(holder[0].queue.retries(req))
        raise RuntimeError("always")

    rec = Recorder(store, failing)
    async with running(store, rec, base_delay=0.001, max_delay=0.01) as controller:
        holder.append(controller)
        await store.create(credential("c"))
        await eventually(lambda: len(retries) >= 5)
    assert retries[:5] == [0, 1, 2, 3, 4], "each failure counts one more backoff step"


async def test_terminal_error_is_not_retried(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    await make_namespace(store)

    async def stalled(req: Request, call: int) -> Result:
        if req.name == "bad":
            raise TerminalError("template missing: create it, then edit this deployment")
        return Result()

    rec = Recorder(store, stalled)
    caplog.set_level(logging.ERROR, logger="orbit.runtime")
    async with running(store, rec) as controller:
        await store.create(credential("bad"))
        await eventually(lambda: controller.stats.terminal_errors == 1)
        await eventually(lambda: controller.stats.in_flight == 0)
        assert controller.queue.delayed == 0
        assert controller.queue.retries(request("bad")) == 0
        # Later work flows past it, and the stalled key is not picked up again meanwhile.
        await store.create(credential("good"))
        await eventually(lambda: rec.count(request("good")) == 1)
        assert rec.count(request("bad")) == 1
        assert controller.stats.errors == 0
    records = [r for r in caplog.records if "stalled" in r.getMessage()]
    assert records
    assert records[0].object_name == "bad"  # type: ignore[attr-defined]
    assert records[0].reconcile_id  # type: ignore[attr-defined]


async def test_transient_error_is_logged_with_traceback_and_fields(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    await make_namespace(store)

    async def once(req: Request, call: int) -> Result:
        if call == 1:
            raise RuntimeError("boom")
        return Result()

    rec = Recorder(store, once)
    caplog.set_level(logging.ERROR, logger="orbit.runtime")
    async with running(store, rec):
        await store.create(credential("c"))
        await eventually(lambda: rec.count(request("c")) == 2)
    [record] = [r for r in caplog.records if "boom" in r.getMessage()]
    assert record.exc_info is not None
    fields = {k: getattr(record, k) for k in ("controller", "kind", "namespace", "object_name")}
    assert fields == {
        "controller": "test",
        "kind": "Credential",
        "namespace": "team-a",
        "object_name": "c",
    }


async def test_requeue_after(store: SqlStore) -> None:
    await make_namespace(store)

    async def again(req: Request, call: int) -> Result:
        return Result(requeue_after=0.05) if call <= 2 else Result()

    rec = Recorder(store, again)
    async with running(store, rec) as controller:
        await store.create(credential("c"))
        await eventually(lambda: rec.count(request("c")) == 3, what="two requeues")
        assert controller.stats.requeues == 2
        assert controller.stats.errors == 0


async def test_watch_maps_other_kinds_to_requests(store: SqlStore) -> None:
    await make_namespace(store)
    await store.create(credential("primary"))

    def namespace_to_primary(obj: v1alpha1.Resource) -> list[Request]:
        return [request("primary", obj.metadata.name)]

    rec = Recorder(store)
    watches = [Watch(kind=v1alpha1.Namespace, map=namespace_to_primary)]
    async with running(store, rec, watches=watches):
        await eventually(lambda: rec.count(request("primary")) == 1)
        ns = await store.get(v1alpha1.Namespace, None, "team-a")
        ns.metadata.labels["tier"] = "gold"
        await store.update(ns)
        await eventually(lambda: rec.count(request("primary")) == 2, what="mapped request")


async def test_a_delayed_watch_coalesces_changes_into_one_pending_pass(store: SqlStore) -> None:
    await make_namespace(store)

    def to_primary(obj: v1alpha1.Resource) -> list[Request]:
        return [request("primary")]

    watch = Watch(kind=v1alpha1.Namespace, map=to_primary, delay=30.0)
    controller = Controller(
        "test", store=store, kind=v1alpha1.Credential, reconciler=Recorder(store), watches=[watch]
    )
    ns = await store.get(v1alpha1.Namespace, None, "team-a")
    for revision in range(1, 11):  # ten changes of the watched object, straight off the feed
        controller._on_event(WatchEvent("MODIFIED", ns, revision))
    assert len(controller.queue) == 0  # nothing ready yet ...
    assert controller.queue.delayed == 1  # ... one pass pending for all ten
    immediate = Controller(
        "test", store=store, kind=v1alpha1.Credential, reconciler=Recorder(store),
        watches=[Watch(kind=v1alpha1.Namespace, map=to_primary)],
    )  # fmt: skip
    immediate._on_event(WatchEvent("MODIFIED", ns, 1))
    assert len(immediate.queue) == 1 and immediate.queue.delayed == 0
    controller.queue.shutdown(drain=False)
    immediate.queue.shutdown(drain=False)


async def test_broken_watch_mapping_does_not_stop_the_feed(store: SqlStore) -> None:
    await make_namespace(store)

    def broken(obj: v1alpha1.Resource) -> list[Request]:
        raise ValueError("bug in a mapping")

    rec = Recorder(store)
    async with running(store, rec, watches=[Watch(kind=v1alpha1.Namespace, map=broken)]):
        await make_namespace(store, "team-b")
        await store.create(credential("after"))
        await eventually(lambda: rec.count(request("after")) == 1)


async def test_resync_enqueues_every_key_periodically(store: SqlStore) -> None:
    await make_namespace(store)
    await store.create(credential("a"))
    await store.create(credential("b"))
    rec = Recorder(store)
    async with running(store, rec, resync_period=0.1):
        await eventually(
            lambda: rec.count(request("a")) >= 3 and rec.count(request("b")) >= 3,
            what="passes without any change",
        )


async def test_a_resync_never_delays_a_key_a_change_woke(store: SqlStore) -> None:
    """30 keys resynced at once on one worker: a create that arrives meanwhile is handled
    next, not after the other 29."""
    await make_namespace(store)
    old = [f"old-{i:02d}" for i in range(30)]
    for name in old:
        await store.create(credential(name))
    resyncing, gate = asyncio.Event(), asyncio.Event()

    async def hold_first_resync(req: Request, call: int) -> Result:
        if call == 2 and not resyncing.is_set():
            resyncing.set()
            await gate.wait()
        return Result()

    rec = Recorder(store, hold_first_resync)
    async with running(store, rec, workers=1, resync_period=0.2) as controller:
        await eventually(lambda: all(rec.count(request(n)) >= 1 for n in old), what="list")
        await asyncio.wait_for(resyncing.wait(), 20)
        held = len(rec.seen)  # the held pass is the last one seen
        urgent = await store.create(credential("urgent"))
        revision = int(urgent.metadata.resource_version or 0)
        await eventually(lambda: (controller.revision or 0) >= revision, what="the create")
        gate.set()
        await eventually(lambda: rec.count(request("urgent")) >= 1, what="the urgent pass")
        assert rec.seen[held][0] == request("urgent"), rec.seen[held - 1 : held + 3]


async def test_relists_when_the_feed_expired(database_url: Any) -> None:
    store: SqlStore = await database_url.open(feed_retention=0.01)
    await make_namespace(store)
    await store.create(credential("stays"))
    await store.create(credential("goes"))
    faulty = FaultyStore(store, stall_watch=True)
    rec = Recorder(store)
    async with running(faulty, rec) as controller:
        await asyncio.wait_for(faulty.stalled.wait(), 20)
        await eventually(lambda: rec.count(request("goes")) == 1)
        # While the feed is partitioned: a delete, a create, and the feed compacted past both.
        stalled_at = controller.revision
        assert stalled_at is not None
        await store.delete(v1alpha1.Credential, "team-a", "goes")
        await store.create(credential("new"))

        async def compacted() -> bool:
            # A write may already have compacted (compact() then finds nothing): ask the feed.
            await store.compact()
            async with store.engine.connect() as conn:
                try:
                    await feed.check_resumable(conn, stalled_at)
                except errors.Gone:
                    return True
            return False

        await eventually(compacted, what="feed compacted past the stalled watch")
        faulty.release.set()
        await eventually(lambda: controller.stats.relists == 1, what="relist after Gone")
        await eventually(lambda: (request("goes"), None) in rec.seen, what="lost delete seen")
        await eventually(lambda: rec.count(request("new")) >= 1, what="missed create seen")
        # And the feed is followed again afterwards.
        await store.create(credential("later"))
        await eventually(lambda: rec.count(request("later")) == 1)


async def test_survives_an_unavailable_store(store: SqlStore) -> None:
    await make_namespace(store)
    await store.create(credential("c"))
    faulty = FaultyStore(store, list_failures=3)
    rec = Recorder(store)
    async with running(faulty, rec, store_retry_max_delay=0.05):
        assert faulty.list_calls == 4
        await eventually(lambda: rec.count(request("c")) == 1)


async def test_never_more_than_workers_at_once_nor_one_key_twice(store: SqlStore) -> None:
    await make_namespace(store)
    for i in range(10):
        await store.create(credential(f"c{i}"))
    active: set[Request] = set()
    overlaps: list[Request] = []
    peak = 0
    gate = asyncio.Event()

    async def busy(req: Request, call: int) -> Result:
        nonlocal peak
        if req in active:
            overlaps.append(req)
        active.add(req)
        peak = max(peak, len(active))
        try:
            await gate.wait()
            await asyncio.sleep(0.001)
        finally:
            active.discard(req)
        return Result(requeue_after=0.001) if call < 5 else Result()

    rec = Recorder(store, busy)
    async with running(store, rec, workers=3, resync_period=0.05) as controller:
        await eventually(lambda: len(active) == 3, what="all workers busy")
        assert controller.stats.in_flight == 3
        # Changes to held keys must wait for their pass to end.
        for i in range(10):
            obj = await store.get(v1alpha1.Credential, "team-a", f"c{i}")
            obj.spec.description = "changed"
            await store.update(obj)
        gate.set()
        await eventually(
            lambda: all(rec.count(request(f"c{i}")) >= 5 for i in range(10)), what="all done"
        )
    assert peak == 3
    assert overlaps == []


Behaviour = Callable[[Request, int], Awaitable[Result]]


async def test_stop_cancels_what_outlives_the_grace_period(store: ResourceStore) -> None:
    await make_namespace(store)
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    async def forever(req: Request, call: int) -> Result:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Result()

    controller = Controller(
        "test", store=store, kind=v1alpha1.Credential, reconciler=Recorder(store, forever)
    )
    await controller.start()
    await store.create(credential("c"))
    await asyncio.wait_for(entered.wait(), 20)
    await asyncio.wait_for(controller.stop(timeout=0.05), 20)
    assert cancelled.is_set()
    assert controller.stats.in_flight == 0


async def test_each_pass_has_its_own_reconcile_id(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    await make_namespace(store)
    ids: list[str | None] = []

    async def note(req: Request, call: int) -> Result:
        ids.append(reconcile_id.get())
        logging.getLogger("orbit.controllers.test").info("inside", extra=log_fields("test", req))
        return Result(requeue_after=0.01) if call == 1 else Result()

    caplog.set_level(logging.INFO)
    async with running(store, Recorder(store, note)):
        await store.create(credential("c"))
        await eventually(lambda: len(ids) == 2)
    assert all(ids)
    assert ids[0] != ids[1]
    inside = [r.reconcile_id for r in caplog.records if r.getMessage() == "inside"]  # type: ignore[attr-defined]
    assert inside == ids
    assert reconcile_id.get() is None, "the id does not leak out of the pass"
