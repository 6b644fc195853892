"""EventRecorder and event collection against the real store."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from orbit.api import v1alpha1
from orbit.runtime import EventRecorder, collect_events, event_name
from orbit.store import SqlStore

from .helpers import credential, make_namespace


async def events_in(store: SqlStore, namespace: str = "team-a") -> list[v1alpha1.Event]:
    return (await store.list(v1alpha1.Event, namespace)).items


async def test_records_an_event_then_bumps_its_count(store: SqlStore) -> None:
    await make_namespace(store)
    cred = await store.create(credential("c"))
    recorder = EventRecorder(store, component="credential-controller")

    await recorder.record(cred, type="Normal", reason="Validated", message="provider sim is ok")
    [event] = await events_in(store)
    assert event.metadata.name == event_name(cred, reason="Validated", message="provider sim is ok")
    assert event.metadata.name.startswith("c.")
    assert event.involved_object == v1alpha1.ObjectReference(
        kind="Credential", namespace="team-a", name="c", uid=cred.metadata.uid
    )
    assert (event.type, event.reason, event.count) == ("Normal", "Validated", 1)
    assert event.source.component == "credential-controller"
    assert event.first_timestamp is not None
    assert event.first_timestamp == event.last_timestamp

    await recorder.record(cred, type="Normal", reason="Validated", message="provider sim is ok")
    [bumped] = await events_in(store)
    assert bumped.count == 2
    assert bumped.first_timestamp == event.first_timestamp
    assert bumped.last_timestamp is not None
    assert bumped.last_timestamp >= event.first_timestamp

    await recorder.record(cred, type="Warning", reason="Validated", message="something else")
    assert len(await events_in(store)) == 2, "a different message is a different event"


async def test_concurrent_records_of_one_event_all_count(store: SqlStore) -> None:
    await make_namespace(store)
    cred = await store.create(credential("c"))
    recorders = [EventRecorder(store, component=f"r{i}") for i in range(3)]
    await asyncio.gather(
        *(r.record(cred, type="Warning", reason="Failed", message="x") for r in recorders)
    )
    [event] = await events_in(store)
    assert event.count == 3


async def test_namespace_events_live_in_the_namespace(store: SqlStore) -> None:
    ns = await make_namespace(store, "team-b")
    await EventRecorder(store, component="ns").record(
        ns, type="Normal", reason="Created", message="hello"
    )
    [event] = await events_in(store, "team-b")
    assert event.involved_object.kind == "Namespace"
    assert event.involved_object.namespace is None


async def test_record_never_raises(store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    orphan = credential("c", namespace="missing")
    caplog.set_level(logging.WARNING, logger="orbit.runtime")
    await EventRecorder(store, component="x").record(
        orphan, type="Warning", reason="Failed", message="nowhere to go"
    )
    assert any("Could not record event" in r.getMessage() for r in caplog.records)


def test_event_names_are_stable_valid_and_bounded() -> None:
    long = credential("a" * 240 + "-b")
    name = event_name(long, reason="R", message="m")
    assert name == event_name(long, reason="R", message="m")
    assert len(name) <= 253
    v1alpha1.ObjectMeta(name=name)  # a valid name
    assert event_name(long, reason="R", message="other") != name


async def test_collect_events_deletes_only_old_ones(store: SqlStore) -> None:
    await make_namespace(store)
    cred = await store.create(credential("c"))
    recorder = EventRecorder(store, component="x")
    await recorder.record(cred, type="Normal", reason="Fresh", message="now")
    old = v1alpha1.now() - timedelta(days=2)
    for i in range(3):
        await store.create(
            v1alpha1.Event(
                metadata=v1alpha1.ObjectMeta(name=f"old-{i}", namespace="team-a"),
                involved_object=v1alpha1.ObjectReference(kind="Credential", name="c"),
                reason="Old",
                message=str(i),
                first_timestamp=old,
                last_timestamp=old,
            )
        )
    assert len(await events_in(store)) == 4
    assert await collect_events(store, older_than=timedelta(hours=24)) == 3
    [left] = await events_in(store)
    assert left.reason == "Fresh"
    assert await collect_events(store, older_than=timedelta(hours=24)) == 0
