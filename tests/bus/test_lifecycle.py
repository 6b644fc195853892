"""A cluster's life on the in-process bus: created -> provisioning -> ready -> scaled ->
deleted, in order, each valid against the published JSON Schema, with stable unique ids."""

from __future__ import annotations

import asyncio
import time

import jsonschema

from orbit.bus import ALL_SUBJECTS, EventType, LifecycleEvent, json_schema
from tests.bus.conftest import Fleet, Pipeline

T = EventType


async def _collect(
    pipeline: Pipeline, name: str, until: EventType, timeout: float = 60.0
) -> list[tuple[dict[str, object], LifecycleEvent]]:
    """Every message about cluster ``name`` (raw JSON and model) until ``until`` arrives."""
    found: list[tuple[dict[str, object], LifecycleEvent]] = []
    deadline = time.monotonic() + timeout

    async def follow() -> None:
        async for msg in pipeline.bus.subscribe(ALL_SUBJECTS, durable="test", since=0):
            await msg.ack()
            if msg.event.name != name:
                continue
            found.append((msg.event.model_dump(mode="json", by_alias=True), msg.event))
            if msg.event.type is until:
                return

    async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
        await follow()
    return found


async def test_cluster_life_in_order_with_the_schema(fleet: Fleet, pipeline: Pipeline) -> None:
    await fleet.create("life", workers=1)
    await fleet.wait_settled("life")
    await fleet.patch("life", config={"workers": 2})
    await fleet.wait(
        "life",
        lambda c: (
            c.status.phase == "Ready"
            and c.status.observed_generation == c.metadata.generation
            and sum(1 for n in c.status.nodes.items if n.role == "worker") == 2
        ),
        what="life scaled to 2 workers",
    )
    await fleet.store.delete(type(await fleet.get("life")), "default", "life")

    messages = await _collect(pipeline, "life", T.CLUSTER_DELETED)
    types = [event.type for _, event in messages]
    expected = [
        T.CLUSTER_CREATED,
        T.CLUSTER_PROVISIONING,
        T.CLUSTER_READY,
        T.CLUSTER_SCALED,
        T.CLUSTER_DELETED,
    ]
    positions = [types.index(t) for t in expected]
    assert positions == sorted(positions), types
    assert types[0] is T.CLUSTER_CREATED and types[-1] is T.CLUSTER_DELETED

    schema = json_schema()
    for raw, event in messages:
        jsonschema.validate(raw, schema)
        assert event.subject == "orbit.events.default.clusterdeployment.life"
        assert event.kind == "ClusterDeployment" and event.namespace == "default"
        assert event.data["reason"] and "message" in event.data
    ids = [event.id for _, event in messages]
    assert len(ids) == len(set(ids))
    revisions = [int(event.resource_version) for _, event in messages]
    assert revisions == sorted(revisions)
    uid = messages[0][1].uid
    assert uid and all(event.uid == uid for _, event in messages)
