"""lightkube's async client, built from the plane's kubeconfig, used as the delivery engine will."""

from __future__ import annotations

import pytest
from lightkube import ApiError, codecs
from lightkube.generic_resource import (
    async_load_in_cluster_generic_resources,
    create_namespaced_resource,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Node

from .conftest import Served

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.org"},
    "spec": {
        "group": "example.org",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object"}},
            }
        ],
    },
}


def configmap(name: str, data: dict[str, str], **labels: str) -> ConfigMap:
    return ConfigMap(
        metadata=ObjectMeta(name=name, namespace="default", labels=labels or None), data=data
    )


async def test_apply_get_list_delete(served: Served) -> None:
    await served.cluster()
    client = await served.lightkube()
    try:
        nodes = [n async for n in client.list(Node)]
        assert [n.metadata.name for n in nodes] == [
            "c-uid-1-cp-0",
            "c-uid-1-worker-0",
            "c-uid-1-worker-1",
        ]
        cp = nodes[0]
        assert cp.metadata.labels["node-role.kubernetes.io/control-plane"] == "true"
        assert cp.status.nodeInfo.kubeletVersion == "v1.32.3+k3s1"
        assert cp.status.allocatable == {
            "cpu": "2",
            "memory": "4Gi",
            "pods": "110",
            "ephemeral-storage": "40Gi",
        }
        assert [c.status for c in cp.status.conditions if c.type == "Ready"] == ["True"]

        applied = await client.apply(configmap("one", {"a": "1"}, app="x"), field_manager="orbit-a")
        assert applied.metadata.uid and applied.metadata.resourceVersion
        assert applied.metadata.creationTimestamp is not None
        (entry,) = applied.metadata.managedFields
        assert (entry.manager, entry.operation) == ("orbit-a", "Apply")
        assert entry.fieldsV1 == {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}
        await client.apply(configmap("two", {"b": "2"}, app="y"), field_manager="orbit-a")

        got = await client.get(ConfigMap, "one", namespace="default")
        assert got.data == {"a": "1"}
        everywhere = [c.metadata.name async for c in client.list(ConfigMap, namespace="*")]
        assert everywhere == ["one", "two"]
        selected = client.list(ConfigMap, namespace="default", labels={"app": "x"})
        assert [c.metadata.name async for c in selected] == ["one"]
        by_name = client.list(ConfigMap, namespace="default", fields={"metadata.name": "two"})
        assert [c.metadata.name async for c in by_name] == ["two"]

        await client.delete(ConfigMap, "one", namespace="default")
        with pytest.raises(ApiError) as caught:
            await client.get(ConfigMap, "one", namespace="default")
        assert caught.value.status.code == 404
        assert caught.value.status.reason == "NotFound"
    finally:
        await client.close()


async def test_field_manager_conflicts_and_force(served: Served) -> None:
    await served.cluster()
    client = await served.lightkube()
    try:
        await client.apply(configmap("shared", {"k": "a", "mine": "1"}), field_manager="alpha")
        # Same value: no conflict, the field becomes shared.
        await client.apply(configmap("shared", {"k": "a"}), field_manager="beta")
        with pytest.raises(ApiError) as caught:
            await client.apply(configmap("shared", {"k": "b"}), field_manager="beta")
        status = caught.value.status
        assert status.code == 409
        assert status.reason == "Conflict"
        assert (
            status.message
            == 'Apply failed with 1 conflict: conflict with "alpha" using v1: .data.k'
        )
        (cause,) = status.details.causes
        assert (cause.field, cause.reason) == (".data.k", "FieldManagerConflict")
        assert cause.message == 'conflict with "alpha" using v1'

        forced = await client.apply(
            configmap("shared", {"k": "b"}), field_manager="beta", force=True
        )
        assert forced.data == {"k": "b", "mine": "1"}
        owners = {e.manager: e.fieldsV1 for e in forced.metadata.managedFields}
        assert owners == {"alpha": {"f:data": {"f:mine": {}}}, "beta": {"f:data": {"f:k": {}}}}

        # alpha stops applying "mine": it is removed, since nobody else owns it.
        await client.apply(configmap("shared", {}), field_manager="alpha")
        assert (await client.get(ConfigMap, "shared", namespace="default")).data == {"k": "b"}
    finally:
        await client.close()


async def test_generic_resources_after_a_crd(served: Served) -> None:
    await served.cluster()
    client = await served.lightkube()
    try:
        await client.apply(codecs.from_dict(CRD), field_manager="orbit")
        crd = await client.get(CustomResourceDefinition, "gadgets.example.org")
        assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
        await async_load_in_cluster_generic_resources(client)
        gadget_cls = create_namespaced_resource("example.org", "v1alpha1", "Gadget", "gadgets")
        gadget = gadget_cls(metadata=ObjectMeta(name="g1", namespace="default"), spec={"n": 1})
        applied = await client.apply(gadget, field_manager="orbit")
        assert applied.spec == {"n": 1}
        assert [g.metadata.name async for g in client.list(gadget_cls, namespace="default")] == [
            "g1"
        ]
        await client.delete(gadget_cls, "g1", namespace="default")
        assert [g async for g in client.list(gadget_cls, namespace="default")] == []
    finally:
        await client.close()


async def test_namespaces_and_deployments_through_typed_models(served: Served) -> None:
    await served.cluster()
    client = await served.lightkube()
    try:
        await client.create(Namespace(metadata=ObjectMeta(name="apps")))
        deployment = codecs.from_dict(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "apps"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                    },
                },
            }
        )
        created = await client.apply(deployment, field_manager="orbit")
        assert created.spec.replicas == 1  # defaulted
        assert created.status.observedGeneration == 1
        names = [n.metadata.name async for n in client.list(Namespace)]
        assert names == ["apps", "default", "kube-public", "kube-system"]
        got = await client.get(Deployment, "web", namespace="apps")
        assert got.metadata.generation == 1
    finally:
        await client.close()
