"""Manager: readiness, graceful stop, supervised runnables."""

from __future__ import annotations

import asyncio

import pytest

from orbit.api import v1alpha1
from orbit.runtime import Controller, Manager, Request, Result
from orbit.store import SqlStore

from .helpers import Recorder, credential, eventually, make_namespace, request


def controller_for(store: SqlStore, reconciler: Recorder, name: str = "creds") -> Controller:
    return Controller(name, store=store, kind=v1alpha1.Credential, reconciler=reconciler)


async def test_ready_after_every_controller_listed(store: SqlStore) -> None:
    await make_namespace(store)
    await store.create(credential("c"))
    rec = Recorder(store)
    manager = Manager(store=store)
    manager.add(controller_for(store, rec))
    assert not manager.ready
    async with manager:
        await asyncio.wait_for(manager.wait_ready(), 20)
        assert manager.ready
        await eventually(lambda: rec.count(request("c")) == 1)


async def test_duplicate_controller_names_are_rejected(store: SqlStore) -> None:
    manager = Manager(store=store)
    manager.add(controller_for(store, Recorder(store)))
    with pytest.raises(ValueError, match="already added"):
        manager.add(controller_for(store, Recorder(store)))


async def test_graceful_stop_waits_for_an_in_flight_reconcile(store: SqlStore) -> None:
    await make_namespace(store)
    entered = asyncio.Event()
    release = asyncio.Event()
    finished: list[Request] = []

    async def slow(req: Request, call: int) -> Result:
        entered.set()
        await release.wait()
        finished.append(req)
        return Result()

    controller = controller_for(store, Recorder(store, slow))
    manager = Manager(store=store)
    manager.add(controller)
    await manager.start()
    await store.create(credential("c"))
    await asyncio.wait_for(entered.wait(), 20)

    stopping = asyncio.create_task(manager.stop(timeout=20))
    await eventually(lambda: controller.queue.shutting_down, what="stop began")
    # Work arriving after stop began is not taken.
    controller.enqueue(request("late"))
    await store.create(credential("late"))
    await asyncio.sleep(0.05)
    assert not stopping.done(), "stop must wait for the pass in flight"
    release.set()
    await asyncio.wait_for(stopping, 20)
    assert finished == [request("c")], "the in-flight pass completed; nothing new started"


async def test_crashed_runnable_is_restarted_with_backoff(store: SqlStore) -> None:
    runs = 0
    steady = asyncio.Event()

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError(f"crash {runs}")
        steady.set()
        await asyncio.Event().wait()  # a long-lived loop

    manager = Manager(store=store, restart_base_delay=0.01, restart_max_delay=0.05)
    manager.add_runnable("flaky", job)
    async with manager:
        await asyncio.wait_for(steady.wait(), 20)
    assert runs == 4


async def test_periodic_runnable_runs_again_after_each_interval(store: SqlStore) -> None:
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1

    manager = Manager(store=store)
    manager.add_runnable("tick", job, interval=0.01)
    async with manager:
        await eventually(lambda: runs >= 3)


async def test_runnable_that_returns_is_not_restarted(store: SqlStore) -> None:
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    manager = Manager(store=store, restart_base_delay=0.01)
    manager.add_runnable("once", once)
    async with manager:
        await eventually(lambda: runs == 1)
    assert runs == 1


async def test_cannot_add_after_start(store: SqlStore) -> None:
    manager = Manager(store=store)
    async with manager:
        with pytest.raises(RuntimeError):
            manager.add_runnable("late", lambda: asyncio.sleep(0))
