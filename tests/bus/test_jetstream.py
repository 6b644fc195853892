"""NATS JetStream restarted mid-run: the relay reconnects and resumes from the outbox; a
durable consumer receives every event published before, during and after the outage, once
each, in order per object."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orbit import catalog
from orbit.api import v1alpha1
from orbit.bus import LifecycleEvent, Outbox
from orbit.bus.jetstream import JetStreamBus
from orbit.bus.publisher import RELAY
from orbit.runtime.events import EventRecorder
from orbit.store import SqlStore
from tests.bus.conftest import running_pipeline
from tests.bus.natsserver import NatsServer, require_nats_server

pytestmark = pytest.mark.slow
STREAM = "ORBIT_EVENTS_TEST"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    require_nats_server()
    server = NatsServer(tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


async def _clusters(store: SqlStore, names: list[str], reason: str) -> None:
    """Create the clusters that do not exist yet and record ``reason`` on each."""
    recorder = EventRecorder(store, component="test")
    for name in names:
        try:
            cluster = await store.get(v1alpha1.ClusterDeployment, "default", name)
        except Exception:
            cluster = await store.create(
                v1alpha1.ClusterDeployment(
                    metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
                    spec=v1alpha1.ClusterDeploymentSpec(
                        template="sim-single-1-0-0", credential="sim"
                    ),
                )
            )
        await recorder.record(cluster, type="Normal", reason=reason, message=f"{name} {reason}")


async def _relayed(outbox: Outbox, timeout: float = 60.0) -> int:
    """Wait until the relay has handed every stored event to the bus; returns how many."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = await outbox.head()
        if head and (await outbox.cursor(RELAY) or 0) >= head:
            return len(await outbox.after(0, limit=100_000))
        await asyncio.sleep(0.1)
    raise AssertionError("the relay did not catch up with the outbox")


async def _consume(url: str, count: int, timeout: float = 60.0) -> list[LifecycleEvent]:
    """Read ``count`` messages with the durable consumer "audit" (acking each)."""
    bus = JetStreamBus(url, stream=STREAM)
    got: list[LifecycleEvent] = []
    try:
        async with asyncio.timeout(timeout):
            async for msg in bus.subscribe(durable="audit", since=0):
                got.append(msg.event)
                await msg.ack()
                if len(got) >= count:
                    break
    finally:
        await bus.close()
    return got


async def test_nats_restart_loses_nothing(store: SqlStore, nats_server: NatsServer) -> None:
    await catalog.ensure_default_namespace(store)
    bus = JetStreamBus(nats_server.url, stream=STREAM, reconnect_wait=0.2, publish_timeout=2.0)
    names = [f"c{i}" for i in range(6)]
    async with running_pipeline(store, bus) as pipeline:
        await _clusters(store, names[:3], "Provisioning")
        before = await _relayed(pipeline.outbox)
        first = await _consume(nats_server.url, before)

        nats_server.stop()
        await _clusters(store, names, "Ready")  # published while NATS is down
        await asyncio.sleep(1.0)
        nats_server.start()
        await _clusters(store, names, "Scaling")
        total = await _relayed(pipeline.outbox)
    await bus.close()

    rest = await _consume(nats_server.url, total - len(first))
    received = first + rest
    stored = [e.event for e in await pipeline.outbox.after(0, limit=100_000)]
    assert (
        len(stored) == total == 6 + 6 * 3 - 3
    )  # 6 created; Provisioning on 3; Ready, Scaling on 6
    assert [e.id for e in received] == [e.id for e in stored]  # each once, in the store's order
    for name in names:
        mine = [int(e.resource_version) for e in received if e.name == name]
        assert mine == sorted(mine) and mine
