"""The change feed: watch order, filters, resume, compaction (Gone), and several stores
(processes) sharing one database."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.store import SqlStore, WatchEvent, feed

from .helpers import DEADLINE, cluster, collect, credential, next_event, with_namespace

CD = v1alpha1.ClusterDeployment


def watching(
    store: SqlStore,
    kinds: tuple[type[v1alpha1.Resource], ...] = (),
    *,
    namespace: str | None = None,
    since: int | None = None,
) -> contextlib.aclosing[Any]:
    return contextlib.aclosing(store.watch(kinds, namespace=namespace, since=since))


def summary(events: list[WatchEvent]) -> list[tuple[str, str, str]]:
    return [(e.type, e.object.kind, e.object.metadata.name) for e in events]


async def test_watch_yields_every_write_in_order(store: SqlStore) -> None:
    since = await store.revision()
    async with watching(store, since=since) as events:
        await with_namespace(store)
        created = await store.create(cluster("c1", finalizers=[v1alpha1.FINALIZER]))
        created.spec.config = {"workers": 2}
        await store.update(created)
        await store.delete(CD, "team-a", "c1")
        got = await collect(events, 4)

    assert summary(got) == [
        ("ADDED", "Namespace", "team-a"),
        ("ADDED", "ClusterDeployment", "c1"),
        ("MODIFIED", "ClusterDeployment", "c1"),
        ("MODIFIED", "ClusterDeployment", "c1"),
    ]
    assert [e.revision for e in got] == list(range(since + 1, since + 5))
    assert all(e.revision == int(e.object.metadata.resource_version or 0) for e in got)
    assert isinstance(got[1].object, CD)
    assert got[2].object.spec.config == {"workers": 2}
    assert got[3].object.metadata.deletion_timestamp is not None


async def test_watch_from_now_skips_the_past(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("old"))
    async with watching(store, (CD,)) as events:
        first = asyncio.ensure_future(next_event(events))
        # The watch starts at its first iteration; give it a moment, then write.
        await asyncio.sleep(0.2)
        await store.create(cluster("new"))
        event = await first
    assert event.object.metadata.name == "new"


async def test_filters_by_kind_and_namespace(store: SqlStore) -> None:
    since = await store.revision()
    await with_namespace(store, "team-a")
    await with_namespace(store, "team-b")
    await store.create(credential("cred", "team-a"))
    await store.create(cluster("b1", "team-b"))
    await store.create(cluster("a1", "team-a"))
    async with watching(store, (CD, v1alpha1.Credential), namespace="team-a", since=since) as ev:
        got = await collect(ev, 2)
    assert summary(got) == [("ADDED", "Credential", "cred"), ("ADDED", "ClusterDeployment", "a1")]
    async with watching(store, (v1alpha1.Namespace,), since=since) as ev:
        assert [e.object.metadata.name for e in await collect(ev, 2)] == ["team-a", "team-b"]


async def test_resume_from_since(store: SqlStore) -> None:
    await with_namespace(store)
    revisions = [
        int((await store.create(cluster(f"c{i}"))).metadata.resource_version or 0) for i in range(5)
    ]
    async with watching(store, (CD,), since=revisions[1]) as events:
        got = await collect(events, 3)
    assert [e.object.metadata.name for e in got] == ["c2", "c3", "c4"]
    assert [e.revision for e in got] == revisions[2:]


async def test_list_then_watch_misses_nothing(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1"))
    listed = await store.list(CD)
    await store.create(cluster("c2"))
    async with watching(store, (CD,), since=listed.revision) as events:
        assert (await next_event(events)).object.metadata.name == "c2"


async def test_watch_holds_no_connection_while_waiting(store: SqlStore) -> None:
    """Watchers share the store's one feed reader: however many wait, at most that reader's
    connection is out, and only while it polls."""
    async with contextlib.AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(watching(store)) for _ in range(5)]
        waiters = [asyncio.ensure_future(next_event(events)) for events in streams]
        await asyncio.sleep(0.2)  # every watcher has started and is waiting
        seen = []
        for _ in range(30):  # several polls
            await asyncio.sleep(0.01)
            seen.append(store.engine.pool.checkedout())
        assert max(seen) <= 1
        assert min(seen) == 0
        await with_namespace(store)
        for waiter in waiters:
            assert (await waiter).object.metadata.name == "team-a"


async def test_close_ends_watches(database_url: Any) -> None:
    store = await database_url.open()
    async with watching(store) as events:
        waiter = asyncio.ensure_future(anext(events, None))
        await asyncio.sleep(0.1)
        await store.close()
        assert await asyncio.wait_for(waiter, DEADLINE) is None
    with pytest.raises(errors.Unavailable, match="closed"):
        await store.revision()


async def test_gone_after_compaction(database_url: Any) -> None:
    store: SqlStore = await database_url.open(feed_retention=0.2)
    await with_namespace(store)
    await store.create(cluster("c1"))
    await asyncio.sleep(0.3)
    await store.create(cluster("c2"))  # newer than the retention: kept
    await store.compact()  # may find nothing left: writes compact by themselves too
    head = await store.revision()

    for since in (0, head - 2):
        with pytest.raises(errors.Gone, match="list again"):
            async with watching(store, since=since) as events:
                await next_event(events)
    async with watching(store, since=head - 1) as events:
        assert (await next_event(events)).object.metadata.name == "c2"

    await asyncio.sleep(0.3)
    await store.compact()  # the feed may empty entirely...
    async with watching(store, (CD,), since=head) as events:
        waiter = asyncio.ensure_future(next_event(events))
        await asyncio.sleep(0.1)
        await store.create(cluster("c3"))  # ...and watchers from its head still follow
        assert (await waiter).object.metadata.name == "c3"
    with pytest.raises(errors.Gone):
        async with watching(store, since=head - 1) as events:
            await next_event(events)


async def test_watcher_that_falls_behind_compaction_gets_gone(database_url: Any) -> None:
    # The watcher polls rarely and only this store's writes wake it, so the other store's
    # writes are compacted away before it reads them: that must be Gone, never a silent gap.
    store: SqlStore = await database_url.open(feed_retention=0.2, poll_interval=60)
    writer: SqlStore = await database_url.open(feed_retention=0.2)
    await with_namespace(store)
    async with watching(store, since=await store.revision()) as events:
        waiter = asyncio.ensure_future(next_event(events))
        await asyncio.sleep(0.1)
        await writer.create(cluster("c1"))
        await writer.create(cluster("c2"))
        await asyncio.sleep(0.3)
        await writer.compact()
        await store.create(credential("wake-up"))
        with pytest.raises(errors.Gone):
            await waiter


async def test_filtered_watcher_advances_past_changes_it_skips(store: SqlStore) -> None:
    # A poll moves the watcher up to the head even when nothing matched its filter, so a
    # quiet filter does not turn later compaction of unrelated changes into Gone.
    await with_namespace(store)
    since = await store.revision()
    for i in range(3):
        await store.create(cluster(f"c{i}"))
    async with store.engine.connect() as conn:
        result = await feed.poll(conn, after=since, kinds=["Credential"], namespace=None)
    assert result.events == []
    assert result.seen == since + 3


async def test_two_stores_see_each_others_writes(database_url: Any) -> None:
    first: SqlStore = await database_url.open()
    second: SqlStore = await database_url.open()
    since = await first.revision()
    async with watching(first, since=since) as on_first, watching(second, since=since) as on_2nd:
        await first.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="team-a")))
        await second.create(cluster("c1"))
        a = await collect(on_first, 2)
        b = await collect(on_2nd, 2)
    assert (
        summary(a)
        == summary(b)
        == [
            ("ADDED", "Namespace", "team-a"),
            ("ADDED", "ClusterDeployment", "c1"),
        ]
    )
    assert [e.revision for e in a] == [e.revision for e in b] == [since + 1, since + 2]
    assert await second.get(v1alpha1.Namespace, None, "team-a") == a[0].object


async def test_concurrent_writers_get_dense_ordered_revisions(database_url: Any) -> None:
    stores: list[SqlStore] = [await database_url.open() for _ in range(2)]
    await with_namespace(stores[0])
    since = await stores[0].revision()
    per_writer = 15

    async def writer(store: SqlStore, tag: str) -> list[int]:
        revisions = []
        for i in range(per_writer):
            obj = await store.create(cluster(f"{tag}-{i}", labels={"n": "0"}))
            obj.metadata.labels = {"n": "1"}
            obj = await store.update(obj)
            revisions.append(int(obj.metadata.resource_version or 0))
        return revisions

    async with watching(stores[1], (CD,), since=since) as events:
        results = await asyncio.gather(
            *(writer(s, f"w{i}{j}") for i, s in enumerate(stores) for j in range(2))
        )
        got = await collect(events, 2 * per_writer * 4)

    revisions = [e.revision for e in got]
    total = 2 * per_writer * 4
    assert revisions == list(range(since + 1, since + total + 1))
    assert await stores[0].revision() == since + total
    assert len({r for rs in results for r in rs}) == per_writer * 4
    # Each object's events arrive as ADDED then MODIFIED, in the order they were written.
    order: dict[str, list[str]] = {}
    for event in got:
        order.setdefault(event.object.metadata.name, []).append(event.type)
    assert all(types == ["ADDED", "MODIFIED"] for types in order.values())
