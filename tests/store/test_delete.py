"""delete, finalizers, and the rules that tie objects to their Namespace."""

from __future__ import annotations

import contextlib

import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.store import SqlStore

from .helpers import cluster, credential, namespace, next_event, with_namespace

CD = v1alpha1.ClusterDeployment
FINALIZER = v1alpha1.FINALIZER


async def test_delete_without_finalizers_removes_at_once(store: SqlStore) -> None:
    await with_namespace(store)
    created = await store.create(cluster("c1"))

    gone = await store.delete(CD, "team-a", "c1")

    assert gone.metadata.uid == created.metadata.uid
    assert gone.metadata.deletion_timestamp is not None
    assert gone.metadata.resource_version == str(await store.revision())
    with pytest.raises(errors.NotFound):
        await store.get(CD, "team-a", "c1")
    with pytest.raises(errors.NotFound):
        await store.delete(CD, "team-a", "c1")


async def test_delete_with_finalizers_only_marks(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1", finalizers=[FINALIZER]))

    marked = await store.delete(CD, "team-a", "c1")
    assert marked.metadata.deletion_timestamp is not None
    assert await store.get(CD, "team-a", "c1") == marked

    revision = await store.revision()
    again = await store.delete(CD, "team-a", "c1")
    assert again == marked
    assert await store.revision() == revision


async def test_object_goes_when_its_last_finalizer_is_removed(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1", finalizers=[FINALIZER, "example.com/other"]))
    marked = await store.delete(CD, "team-a", "c1")
    since = await store.revision()
    async with contextlib.aclosing(store.watch((CD,), since=since)) as events:
        # The spec may still change while finalizers run; one finalizer may go at a time.
        marked.spec.config = {"draining": True}
        marked.metadata.finalizers = ["example.com/other"]
        kept = await store.update(marked)
        assert kept.metadata.deletion_timestamp == marked.metadata.deletion_timestamp
        assert kept.metadata.finalizers == ["example.com/other"]
        assert kept.metadata.generation == 2

        kept.metadata.finalizers = []
        last = await store.update(kept)
        assert last.metadata.finalizers == []
        with pytest.raises(errors.NotFound):
            await store.get(CD, "team-a", "c1")

        assert (await next_event(events)).type == "MODIFIED"
        deleted = await next_event(events)
        assert deleted.type == "DELETED"
        assert deleted.object == last


async def test_no_new_finalizers_on_a_deleting_object(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1", finalizers=[FINALIZER]))
    marked = await store.delete(CD, "team-a", "c1")
    marked.metadata.finalizers = [FINALIZER, "example.com/late"]
    with pytest.raises(errors.Invalid) as caught:
        await store.update(marked)
    assert caught.value.causes[0].field == "metadata.finalizers"
    assert "example.com/late" in caught.value.message


async def test_status_writes_continue_while_deleting(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1", finalizers=[FINALIZER]))
    marked = await store.delete(CD, "team-a", "c1")
    marked.status.phase = v1alpha1.Phase.DELETING
    updated = await store.update_status(marked)
    assert updated.status.phase == v1alpha1.Phase.DELETING
    assert updated.metadata.deletion_timestamp == marked.metadata.deletion_timestamp


async def test_namespace_holding_objects_cannot_be_deleted(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1"))
    await store.create(cluster("c2"))
    await store.create(credential("aws-dev"))

    with pytest.raises(errors.Conflict) as caught:
        await store.delete(v1alpha1.Namespace, None, "team-a")
    assert "2 ClusterDeployments" in caught.value.message
    assert "1 Credential;" in caught.value.message

    for name in ("c1", "c2"):
        await store.delete(CD, "team-a", name)
    await store.delete(v1alpha1.Credential, "team-a", "aws-dev")
    await store.delete(v1alpha1.Namespace, None, "team-a")
    with pytest.raises(errors.NotFound):
        await store.get(v1alpha1.Namespace, None, "team-a")


async def test_objects_of_other_namespaces_do_not_block(store: SqlStore) -> None:
    await with_namespace(store, "team-a")
    await with_namespace(store, "team-b")
    await store.create(cluster("c1", "team-b"))
    await store.delete(v1alpha1.Namespace, None, "team-a")


async def test_no_new_content_in_a_terminating_namespace(store: SqlStore) -> None:
    await store.create(namespace("team-a", finalizers=["example.com/cleanup"]))
    await store.delete(v1alpha1.Namespace, None, "team-a")
    with pytest.raises(errors.Conflict, match="being terminated"):
        await store.create(cluster("c1"))


async def test_events_go_with_an_otherwise_empty_namespace(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1"))
    event = v1alpha1.Event(
        metadata=v1alpha1.ObjectMeta(name="c1.abc", namespace="team-a"),
        involved_object=v1alpha1.ObjectReference(kind="ClusterDeployment", name="c1"),
        reason="Deleted",
        message="gone",
    )
    await store.create(event)
    with pytest.raises(errors.Conflict):  # a cluster still lives there: events stay too
        await store.delete(v1alpha1.Namespace, None, "team-a")
    assert (await store.list(v1alpha1.Event, "team-a")).items
    await store.delete(CD, "team-a", "c1")
    since = await store.revision()
    await store.delete(v1alpha1.Namespace, None, "team-a")
    with pytest.raises(errors.NotFound):
        await store.get(v1alpha1.Namespace, None, "team-a")
    assert (await store.list(v1alpha1.Event, "team-a")).items == []
    seen = []
    async for change in store.watch((v1alpha1.Event,), since=since):
        seen.append((change.type, change.object.metadata.name))
        break
    assert seen == [("DELETED", "c1.abc")]
