"""WorkQueue semantics: de-duplication, dirty re-queue, delays, backoff, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from orbit.runtime.queue import ExponentialBackoff, ShutDown, WorkQueue

WAIT = 10.0


async def get(q: WorkQueue[str]) -> str:
    return await asyncio.wait_for(q.get(), WAIT)


async def test_add_deduplicates_waiting_keys() -> None:
    q: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "a", "a", "b", "c"):
        q.add(key)
    assert len(q) == 3
    assert [await get(q), await get(q), await get(q)] == ["a", "b", "c"]
    assert len(q) == 0


async def test_key_added_while_processing_is_requeued_on_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert await get(q) == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a key being processed must not be handed out again"
    q.done("a")
    assert len(q) == 1
    assert await get(q) == "a"
    q.done("a")
    assert len(q) == 0


async def test_key_is_never_handed_to_two_workers_at_once() -> None:
    q: WorkQueue[int] = WorkQueue()
    active: set[int] = set()
    overlaps: list[int] = []
    passes = 0

    async def worker() -> None:
        nonlocal passes
        while True:
            try:
                key = await q.get()
            except ShutDown:
                return
            if key in active:
                overlaps.append(key)
            active.add(key)
            await asyncio.sleep(0)
            q.add(key % 3)  # keep re-adding keys that may be held by others
            await asyncio.sleep(0)
            active.discard(key)
            passes += 1
            q.done(key)
            if passes > 300:
                q.shutdown()

    for k in range(3):
        q.add(k)
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(5))), WAIT)
    assert overlaps == []
    assert passes > 300


async def test_get_waits_for_add() -> None:
    q: WorkQueue[str] = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, WAIT) == "x"


async def test_cancelled_getter_does_not_swallow_a_key() -> None:
    q: WorkQueue[str] = WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("x")  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(second, WAIT) == "x"


async def test_add_after_orders_by_deadline() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("late", 0.3)
    q.add_after("early", 0.05)
    assert q.delayed == 2
    assert len(q) == 0
    assert await get(q) == "early"
    assert await get(q) == "late"
    assert q.delayed == 0


async def test_add_after_earliest_deadline_wins() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("a", 3600)
    q.add_after("a", 0.05)  # sooner: replaces the hour
    q.add_after("a", 3600)  # later: ignored
    assert q.delayed == 1
    assert await get(q) == "a"
    assert q.delayed == 0


async def test_add_after_non_positive_delay_adds_now() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("a", 0)
    assert len(q) == 1


def test_backoff_grows_exponentially_and_caps() -> None:
    backoff: ExponentialBackoff[str] = ExponentialBackoff(base_delay=0.5, max_delay=5)
    assert backoff.retries("k") == 0
    assert [backoff.when("k") for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5, 5]
    assert backoff.retries("k") == 6
    assert backoff.when("other") == 0.5, "keys back off independently"
    backoff.forget("k")
    assert backoff.retries("k") == 0
    assert backoff.when("k") == 0.5
    backoff.forget("unknown")  # harmless
    for _ in range(5000):
        backoff.when("forever")  # no overflow for a key that never succeeds
    assert backoff.when("forever") == 5


def test_backoff_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="base_delay"):
        ExponentialBackoff(base_delay=0)
    with pytest.raises(ValueError, match="base_delay"):
        ExponentialBackoff(base_delay=2, max_delay=1)


async def test_add_rate_limited_counts_retries_and_forget_resets() -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=0.01, max_delay=0.05)
    for expected in (1, 2, 3):
        q.add_rate_limited("k")
        assert q.retries("k") == expected
        assert await get(q) == "k"
        q.done("k")
    q.forget("k")
    assert q.retries("k") == 0


async def test_shutdown_drains_then_raises() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.shutdown()
    q.add("b")  # ignored after shutdown
    q.add_after("c", 0.01)
    assert await get(q) == "a"
    with pytest.raises(ShutDown):
        await get(q)


async def test_shutdown_without_drain_drops_waiting_keys() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.add_after("b", 3600)
    q.shutdown(drain=False)
    assert len(q) == 0
    assert q.delayed == 0
    with pytest.raises(ShutDown):
        await get(q)


async def test_shutdown_wakes_blocked_getters() -> None:
    q: WorkQueue[str] = WorkQueue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0)
    q.shutdown()
    for task in getters:
        with pytest.raises(ShutDown):
            await asyncio.wait_for(task, WAIT)


async def test_low_priority_keys_wait_behind_every_normal_key() -> None:
    q: WorkQueue[str] = WorkQueue()
    for key in ("r1", "r2", "r3"):
        q.add(key, low=True)
    q.add("changed")
    q.add("r1", low=True)  # a second resync of a waiting key changes nothing
    assert len(q) == 4
    assert await get(q) == "changed"
    q.add("new")  # arrives while low keys wait: still handed out first
    assert [await get(q), await get(q), await get(q), await get(q)] == ["new", "r1", "r2", "r3"]
    assert len(q) == 0


async def test_a_low_key_added_normally_is_promoted_once() -> None:
    q: WorkQueue[str] = WorkQueue()
    for key in ("r1", "r2", "r3"):
        q.add(key, low=True)
    q.add("r3")  # a change to a key the resync queued: it outranks the resync
    assert len(q) == 3
    assert [await get(q), await get(q), await get(q)] == ["r3", "r1", "r2"]
    assert len(q) == 0


async def test_a_low_key_held_by_a_worker_returns_at_normal_priority() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a", low=True)
    assert await get(q) == "a"
    q.add("a", low=True)  # dirty while held
    q.add("b", low=True)
    q.done("a")  # back in the normal queue: it changed while held
    assert [await get(q), await get(q)] == ["a", "b"]


async def test_a_getter_waiting_on_an_empty_queue_gets_a_low_key() -> None:
    q: WorkQueue[str] = WorkQueue()
    waiting = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("resync", low=True)
    assert await asyncio.wait_for(waiting, WAIT) == "resync"


async def test_shutdown_without_drain_drops_low_keys_too() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("low", low=True)
    q.shutdown(drain=False)
    assert len(q) == 0
    with pytest.raises(ShutDown):
        await get(q)
