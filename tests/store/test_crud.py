"""create / get / update / update_status: server-managed metadata, generation, concurrency."""

from __future__ import annotations

import uuid

import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.store import SqlStore

from .helpers import cluster, credential, namespace, with_namespace

STALE = (
    'Operation cannot be fulfilled on clusterdeployments "c1": the object has been modified; '
    "please apply your changes to the latest version and try again"
)


async def test_create_sets_server_managed_metadata(store: SqlStore) -> None:
    await with_namespace(store)
    sent = cluster("c1")
    sent.metadata.uid = "client-made-up"
    sent.metadata.resource_version = "999"
    sent.metadata.generation = 7
    sent.metadata.deletion_timestamp = v1alpha1.now()

    created = await store.create(sent)

    meta = created.metadata
    assert uuid.UUID(meta.uid or "").version == 4
    assert meta.generation == 1
    assert meta.creation_timestamp is not None
    assert meta.deletion_timestamp is None
    assert meta.resource_version == str(await store.revision())
    assert await store.get(v1alpha1.ClusterDeployment, "team-a", "c1") == created


async def test_resource_version_is_a_global_increasing_revision(store: SqlStore) -> None:
    start = await store.revision()
    ns = await with_namespace(store)
    first = await store.create(cluster("c1"))
    other = await store.create(credential("aws-dev"))
    versions = [int(o.metadata.resource_version or 0) for o in (ns, first, other)]
    assert versions == [start + 1, start + 2, start + 3]
    assert await store.revision() == start + 3


async def test_create_twice_is_already_exists(store: SqlStore) -> None:
    await with_namespace(store)
    await store.create(cluster("c1"))
    with pytest.raises(errors.AlreadyExists, match='clusterdeployments "c1" already exists'):
        await store.create(cluster("c1"))
    # The same name in another namespace, or of another kind, is a different object.
    await with_namespace(store, "team-b")
    await store.create(cluster("c1", "team-b"))
    await store.create(credential("c1"))


async def test_cluster_scoped_kind_ignores_namespace(store: SqlStore) -> None:
    created = await with_namespace(store, "team-a")
    assert created.metadata.namespace is None
    assert await store.get(v1alpha1.Namespace, None, "team-a") == created
    listed = await store.list(v1alpha1.Namespace, "anything")
    assert [n.metadata.name for n in listed.items] == ["team-a"]


async def test_namespaced_object_needs_its_namespace(store: SqlStore) -> None:
    with pytest.raises(errors.NotFound, match='namespace "team-a" not found'):
        await store.create(cluster("c1"))
    orphan = cluster("c1")
    orphan.metadata.namespace = None
    with pytest.raises(errors.Invalid) as caught:
        await store.create(orphan)
    assert caught.value.causes[0].field == "metadata.namespace"


async def test_get_missing_is_not_found(store: SqlStore) -> None:
    await with_namespace(store)
    with pytest.raises(errors.NotFound, match='clusterdeployments "nope" not found'):
        await store.get(v1alpha1.ClusterDeployment, "team-a", "nope")


async def test_spec_change_bumps_generation_metadata_change_does_not(store: SqlStore) -> None:
    await with_namespace(store)
    created = await store.create(cluster("c1"))

    relabelled = created.model_copy(deep=True)
    relabelled.metadata.labels = {"env": "dev"}
    relabelled.metadata.annotations = {"note": "x"}
    after_labels = await store.update(relabelled)
    assert after_labels.metadata.generation == 1
    assert after_labels.metadata.labels == {"env": "dev"}
    assert int(after_labels.metadata.resource_version or 0) > int(
        created.metadata.resource_version or 0
    )

    respecced = after_labels.model_copy(deep=True)
    respecced.spec.config = {"workers": 3}
    after_spec = await store.update(respecced)
    assert after_spec.metadata.generation == 2
    assert after_spec.spec.config == {"workers": 3}
    assert after_spec.metadata.labels == {"env": "dev"}


async def test_update_keeps_status_and_server_fields(store: SqlStore) -> None:
    await with_namespace(store)
    created = await store.create(cluster("c1"))
    with_status = created.model_copy(deep=True)
    with_status.status.phase = v1alpha1.Phase.READY
    stored = await store.update_status(with_status)

    sneaky = stored.model_copy(deep=True)
    sneaky.status.phase = v1alpha1.Phase.FAILED
    sneaky.metadata.generation = 42
    sneaky.metadata.creation_timestamp = None
    sneaky.metadata.deletion_timestamp = v1alpha1.now()
    sneaky.spec.config = {"size": "large"}
    updated = await store.update(sneaky)

    assert updated.status.phase == v1alpha1.Phase.READY
    assert updated.metadata.generation == 2
    assert updated.metadata.uid == created.metadata.uid
    assert updated.metadata.creation_timestamp == created.metadata.creation_timestamp
    assert updated.metadata.deletion_timestamp is None
    assert updated.spec.config == {"size": "large"}


async def test_update_status_replaces_only_status(store: SqlStore) -> None:
    await with_namespace(store)
    created = await store.create(cluster("c1", labels={"a": "b"}))
    changed = created.model_copy(deep=True)
    changed.status.phase = v1alpha1.Phase.PROVISIONING
    changed.status.observed_generation = 1
    changed.spec.config = {"ignored": True}
    changed.metadata.labels = {"ignored": "yes"}

    updated = await store.update_status(changed)

    assert updated.status.phase == v1alpha1.Phase.PROVISIONING
    assert updated.status.observed_generation == 1
    assert updated.spec.config == {}
    assert updated.metadata.labels == {"a": "b"}
    assert updated.metadata.generation == 1
    assert await store.get(v1alpha1.ClusterDeployment, "team-a", "c1") == updated


async def test_stale_resource_version_is_conflict(store: SqlStore) -> None:
    await with_namespace(store)
    created = await store.create(cluster("c1"))
    first = created.model_copy(deep=True)
    first.spec.config = {"n": 1}
    await store.update(first)

    stale = created.model_copy(deep=True)
    stale.spec.config = {"n": 2}
    with pytest.raises(errors.Conflict) as caught:
        await store.update(stale)
    assert caught.value.message == STALE
    with pytest.raises(errors.Conflict, match="the object has been modified"):
        await store.update_status(stale)
    with pytest.raises(errors.Conflict, match="the object has been modified"):
        await store.delete(
            v1alpha1.ClusterDeployment,
            "team-a",
            "c1",
            resource_version=created.metadata.resource_version,
        )

    # Without a resourceVersion a write is unconditional.
    stale.metadata.resource_version = None
    assert (await store.update(stale)).spec.config == {"n": 2}


async def test_update_of_a_recreated_object_is_conflict(store: SqlStore) -> None:
    await with_namespace(store)
    old = await store.create(cluster("c1"))
    await store.delete(v1alpha1.ClusterDeployment, "team-a", "c1")
    await store.create(cluster("c1"))
    old.metadata.resource_version = None
    with pytest.raises(errors.Conflict, match="UID in precondition"):
        await store.update(old)


async def test_update_missing_is_not_found(store: SqlStore) -> None:
    await with_namespace(store)
    with pytest.raises(errors.NotFound):
        await store.update(cluster("ghost"))
    with pytest.raises(errors.NotFound):
        await store.update_status(cluster("ghost"))


async def test_write_that_changes_nothing_is_not_a_write(store: SqlStore) -> None:
    await with_namespace(store)
    created = await store.create(cluster("c1"))
    before = await store.revision()

    assert await store.update(created) == created
    assert await store.update_status(created) == created
    assert await store.revision() == before


async def test_kind_without_status_subresource_updates_whole_body(store: SqlStore) -> None:
    created = await store.create(namespace("team-a"))
    changed = created.model_copy(deep=True)
    changed.spec.description = "the A team"
    changed.status = v1alpha1.NamespaceStatus(phase="Active")
    updated = await store.update(changed)
    assert updated.spec.description == "the A team"
    assert updated.status == v1alpha1.NamespaceStatus(phase="Active")
    assert updated.metadata.generation == 2


async def test_get_namespaced_kind_without_namespace_is_bad_request(store: SqlStore) -> None:
    with pytest.raises(errors.BadRequest, match="namespaced"):
        await store.get(v1alpha1.ClusterDeployment, None, "c1")
