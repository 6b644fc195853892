"""The informer cache (:mod:`orbit.runtime.cache`) against the real store: reads come from
memory, writes go through, and a read is never older than a change the process's feed reader
has handed out, even while a list is running."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from orbit import errors
from orbit.api import selectors, v1alpha1
from orbit.runtime.cache import CachedStore, list_shared
from orbit.store import SqlStore

from .helpers import credential, eventually, make_namespace

KINDS = (v1alpha1.Credential, v1alpha1.ClusterTemplate)


@contextlib.asynccontextmanager
async def feed_reader(store: SqlStore) -> AsyncIterator[None]:
    """A watcher, which starts the store's shared feed reader (as a controller does)."""

    async def follow() -> None:
        async for _ in store.watch(()):
            pass

    task = asyncio.create_task(follow())
    await eventually(lambda: store.buffered_changes(2**62) is not None, what="feed reader started")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def caught_up(store: SqlStore, obj: v1alpha1.Resource) -> None:
    revision = int(obj.metadata.resource_version or 0)

    def has() -> bool:
        found = store.buffered_changes(revision - 1)
        return found is not None and found[1] >= revision

    await eventually(has, what=f"feed reader at {revision}")


async def test_reads_come_from_memory_and_writes_go_through(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_namespace(store)
    async with feed_reader(store):
        cache = CachedStore(store, KINDS)
        first = await store.create(credential("a"))
        await caught_up(store, first)
        assert (await cache.get(v1alpha1.Credential, "team-a", "a")) == first

        reads: list[Any] = []
        real_get = store.get

        async def counting_get(*args: Any, **kwargs: Any) -> Any:
            reads.append(args)
            return await real_get(*args, **kwargs)

        monkeypatch.setattr(store, "get", counting_get)
        # Its own write is visible at once, before the feed reader has polled it.
        written = await cache.create(credential("b", description="mine"))
        got = await cache.get(v1alpha1.Credential, "team-a", "b")
        assert got == written and got.spec.description == "mine"
        # Another writer's change arrives through the feed.
        other = await store.create(credential("c"))
        await caught_up(store, other)
        assert [c.metadata.name for c in (await cache.list(v1alpha1.Credential)).items] == [
            "a",
            "b",
            "c",
        ]
        await store.delete(v1alpha1.Credential, "team-a", "c")
        deleted = await store.revision()
        await eventually(
            lambda: (store.buffered_changes(deleted - 1) or ([], 0))[1] >= deleted,
            what="delete polled",
        )
        with pytest.raises(errors.NotFound):
            await cache.get(v1alpha1.Credential, "team-a", "c")
        assert reads == []  # every read above came from memory
        # Kinds it does not cache go to the store.
        await cache.get(v1alpha1.Namespace, None, "team-a")
        assert reads == [(v1alpha1.Namespace, None, "team-a")]


async def test_a_pass_waiting_for_a_list_sees_changes_made_during_it(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two passes read an empty cache: one lists, the other waits for that list. A change
    committed (and handed to watchers) while the list runs, after its kind was listed, must be
    in what both read afterwards."""
    await make_namespace(store)
    async with feed_reader(store):
        cache = CachedStore(store, KINDS)
        real_list = store.list
        paused = asyncio.Event()
        resume = asyncio.Event()

        async def slow_list(cls: Any, *args: Any, **kwargs: Any) -> Any:
            if cls is v1alpha1.ClusterTemplate:  # Credentials are listed already
                paused.set()
                await resume.wait()
            return await real_list(cls, *args, **kwargs)

        monkeypatch.setattr(store, "list", slow_list)
        first = asyncio.create_task(cache.list(v1alpha1.Credential))
        await asyncio.wait_for(paused.wait(), 20)
        waiter = asyncio.create_task(cache.get(v1alpha1.Credential, "team-a", "late"))
        late = await store.create(credential("late"))
        await caught_up(store, late)
        resume.set()
        assert (await asyncio.wait_for(waiter, 20)) == late
        assert [c.metadata.name for c in (await asyncio.wait_for(first, 20)).items] == ["late"]


async def test_label_selected_lists_follow_label_changes_and_deletes(store: SqlStore) -> None:
    """Lists by label come from the cache's label index: it must follow relabels (through the
    cache and through the feed), deletes and other namespaces, and never return a stale match."""
    await make_namespace(store)
    await make_namespace(store, "team-b")

    def labelled(name: str, namespace: str = "team-a", **labels: str) -> v1alpha1.Credential:
        cred = credential(name, namespace)
        cred.metadata.labels = dict(labels)
        return cred

    def names(result: Any) -> list[str]:
        return [f"{c.metadata.namespace}/{c.metadata.name}" for c in result.items]

    async with feed_reader(store):
        cache = CachedStore(store, KINDS)
        for i in range(6):
            await cache.create(labelled(f"c{i}", team="red" if i % 2 else "blue", tier="web"))
        await cache.create(labelled("other", "team-b", team="red"))
        red = selectors.parse("team=red")
        assert names(await cache.list(v1alpha1.Credential, "team-a", selector=red)) == [
            "team-a/c1",
            "team-a/c3",
            "team-a/c5",
        ]
        both = selectors.parse("team in (red,blue),tier=web,team!=blue")
        assert names(await cache.list(v1alpha1.Credential, None, selector=both)) == [
            "team-a/c1",
            "team-a/c3",
            "team-a/c5",
        ]
        assert len((await cache.list(v1alpha1.Credential, None, selector=red)).items) == 4

        # A relabel through the cache, one through the store (arrives by the feed), a delete.
        c1 = await cache.get(v1alpha1.Credential, "team-a", "c1")
        c1.metadata.labels["team"] = "blue"
        await cache.update(c1)
        c0 = await store.get(v1alpha1.Credential, "team-a", "c0")
        c0.metadata.labels = {"team": "red"}
        await caught_up(store, await store.update(c0))
        await store.delete(v1alpha1.Credential, "team-a", "c3")
        gone = await store.revision()
        await eventually(
            lambda: (store.buffered_changes(gone - 1) or ([], 0))[1] >= gone, what="delete"
        )
        listed = names(await cache.list(v1alpha1.Credential, "team-a", selector=red))
        assert listed == ["team-a/c0", "team-a/c5"]
        assert listed == names(await store.list(v1alpha1.Credential, "team-a", selector=red))
        assert names(await cache.list(v1alpha1.Credential, "team-a", selector=both)) == [
            "team-a/c5"
        ]
        assert (
            names(await cache.list(v1alpha1.Credential, None, selector=selectors.parse("x=y")))
            == []
        )


async def test_shared_lists_decode_each_version_once(store: SqlStore) -> None:
    """``list_shared`` hands out one decoded object per cached version (no decode per read),
    a new one once the object changes, and still honours the selector; ``list`` keeps giving
    every reader its own copy."""
    await make_namespace(store)
    async with feed_reader(store):
        cache = CachedStore(store, KINDS)
        for name, team in (("a", "red"), ("b", "blue")):
            cred = credential(name)
            cred.metadata.labels = {"team": team}
            await cache.create(cred)
        red = selectors.parse("team=red")
        first = await list_shared(cache, v1alpha1.Credential, "team-a", selector=red)
        again = await list_shared(cache, v1alpha1.Credential, "team-a", selector=red)
        assert [c.metadata.name for c in first] == ["a"]
        assert again[0] is first[0]  # decoded once
        copies = (await cache.list(v1alpha1.Credential, "team-a", selector=red)).items
        assert copies[0] == first[0] and copies[0] is not first[0]

        changed = await cache.get(v1alpha1.Credential, "team-a", "a")
        changed.spec.description = "rotated"
        await cache.update(changed)
        (after,) = await list_shared(cache, v1alpha1.Credential, "team-a", selector=red)
        assert after is not first[0] and after.spec.description == "rotated"
        assert first[0].spec.description != "rotated"  # what a reader held stays as it read it

        # A store without a cache answers with plain lists.
        plain = await list_shared(store, v1alpha1.Credential, "team-a", selector=red)
        assert [c.spec.description for c in plain] == ["rotated"]


async def test_read_own_writes_serves_from_memory_every_write_this_process_made(
    store: SqlStore, database_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's authorization cache: it starts the feed reader itself, and a write this
    process made around the cache (a request creating a binding) is in its very next read,
    still from memory; another process's write arrives when the reader polls it."""
    await make_namespace(store)
    cache = CachedStore(store, KINDS, read_own_writes=True)
    assert (await cache.list(v1alpha1.Credential)).items == []  # lists, starts the reader
    assert store.buffered_changes(await store.revision()) is not None

    reads: list[Any] = []
    real_get, real_list = store.get, store.list

    async def counting_get(*args: Any, **kwargs: Any) -> Any:
        reads.append(("get", args))
        return await real_get(*args, **kwargs)

    async def counting_list(*args: Any, **kwargs: Any) -> Any:
        reads.append(("list", args))
        return await real_list(*args, **kwargs)

    monkeypatch.setattr(store, "get", counting_get)
    monkeypatch.setattr(store, "list", counting_list)
    for i in range(5):
        made = await store.create(credential(f"w{i}"))  # through the store, not the cache
        assert await cache.get(v1alpha1.Credential, "team-a", f"w{i}") == made
    await store.delete(v1alpha1.Credential, "team-a", "w0")
    with pytest.raises(errors.NotFound):
        await cache.get(v1alpha1.Credential, "team-a", "w0")
    assert reads == []  # every read above came from memory

    other = await database_url.open()  # another process's store on the same database
    try:
        await other.create(credential("theirs"))

        async def arrived() -> bool:
            names = [c.metadata.name for c in (await cache.list(v1alpha1.Credential)).items]
            return "theirs" in names

        await eventually(arrived, what="the other process's write in the cache")
    finally:
        await other.close()
