"""The publisher resumes from the position it saved in the store: stopped (or killed) and
started again, it neither loses nor repeats an event; with its position gone from the change
feed it recovers from the stored objects."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from orbit import catalog
from orbit.api import v1alpha1
from orbit.bus import Outbox, Publisher
from orbit.bus.publisher import PUBLISHER
from orbit.runtime.events import EventRecorder
from orbit.store import SqlStore, open_store


async def _happen(store: SqlStore, name: str, reason: str) -> None:
    try:
        cluster = await store.get(v1alpha1.ClusterDeployment, "default", name)
    except Exception:
        cluster = await store.create(
            v1alpha1.ClusterDeployment(
                metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
                spec=v1alpha1.ClusterDeploymentSpec(template="t", credential="c"),
            )
        )
    await EventRecorder(store, component="test").record(
        cluster, type="Normal", reason=reason, message=reason
    )


async def _stored(outbox: Outbox, count: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = [e.event.id for e in await outbox.after(0, limit=10_000)]
        if len(ids) >= count:
            return ids
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} events stored")


async def _run(publisher: Publisher) -> asyncio.Task[None]:
    return asyncio.create_task(publisher.run())


async def test_restart_resumes_without_loss_or_repeat(store: SqlStore) -> None:
    await catalog.ensure_default_namespace(store)
    outbox = Outbox(store.engine)
    task = await _run(Publisher(store, outbox, idle=0.1))
    await _happen(store, "a", "Provisioning")
    await _stored(outbox, 2)
    task.cancel()  # as good as a kill: the position is saved with each event
    await asyncio.gather(task, return_exceptions=True)

    await _happen(store, "a", "Ready")  # while no publisher runs
    await _happen(store, "b", "Provisioning")
    task = await _run(Publisher(store, outbox, idle=0.1))
    try:
        ids = await _stored(outbox, 5)
        await asyncio.sleep(0.3)
        assert len(await outbox.after(0)) == 5 and len(set(ids)) == 5
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_recovers_when_the_feed_no_longer_reaches(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'orbit.db'}", feed_retention=0.05)
    try:
        await catalog.ensure_default_namespace(store)
        outbox = Outbox(store.engine)
        await outbox.set_cursor(PUBLISHER, 1)
        await _happen(store, "a", "Provisioning")
        await _happen(store, "a", "Ready")
        await asyncio.sleep(0.2)
        await store.compact()  # the changes after revision 1 leave the feed
        task = await _run(Publisher(store, outbox, idle=0.1))
        try:
            await _stored(outbox, 3)  # created, provisioning, ready
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        types = [e.event.type.value for e in await outbox.after(0)]
        assert types == [
            "orbit.cluster.created",
            "orbit.cluster.provisioning",
            "orbit.cluster.ready",
        ]
    finally:
        await store.close()
