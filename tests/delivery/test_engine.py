"""The delivery engine against a simulated cluster's real Kubernetes API over HTTP."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from lightkube.types import PatchType

from orbit.api import v1alpha1
from orbit.delivery import engine
from orbit.delivery import inventory as inv
from orbit.delivery.kubeclient import DeliveryError, KubeClient
from tests.delivery.conftest_engine import Plane, eventually, plane  # noqa: F401

SET = "alpha-cluster"


def service(name: str = "web", namespace: str = "web", **kw: Any) -> v1alpha1.Service:
    return v1alpha1.Service(name=name, template="web-1-0-0", namespace=namespace, **kw)


def deployment(name: str = "api", *, cpu: str = "100m", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "nginx:1.27",
                            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def configmap(name: str = "settings", value: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }


def mine() -> dict[str, Any]:
    """A person's ConfigMap in the service's namespace, without our labels."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "mine", "namespace": "web"},
    }


@pytest.fixture
async def client(plane: Plane) -> AsyncIterator[KubeClient]:  # noqa: F811
    uid = await plane.cluster("alpha", workers=1)
    kube = await plane.client(uid)
    try:
        yield kube
    finally:
        await kube.close()


async def deliver(
    client: KubeClient,
    manifests: list[dict[str, Any]],
    previous: list[v1alpha1.InventoryItem] | None = None,
    svc: v1alpha1.Service | None = None,
    **kw: Any,
) -> engine.DeliveryResult:
    return await engine.deliver(
        client,
        set_name=SET,
        service=svc or service(),
        manifests=copy.deepcopy(manifests),
        previous=previous or [],
        **kw,
    )


async def wait_healthy(client: KubeClient, items: list[v1alpha1.InventoryItem]) -> None:
    async def healthy() -> bool:
        return (await engine.observe(client, items)).health.healthy

    await eventually(healthy, what="service healthy")


async def test_deliver_creates_namespace_labels_and_inventory(client: KubeClient) -> None:
    result = await deliver(client, [deployment(), configmap()])
    assert [(i.kind, i.namespace, i.name) for i in result.inventory] == [
        ("ConfigMap", "web", "settings"),
        ("Deployment", "web", "api"),
    ]
    assert all(len(i.hash) == inv.HASH_LENGTH for i in result.inventory)
    assert await client.get("v1", "Namespace", "web") is not None
    live = await client.get("apps/v1", "Deployment", "api", "web")
    assert live is not None
    labels = live["metadata"]["labels"]
    assert labels[engine.LABEL_SERVICESET] == SET
    assert labels[engine.LABEL_SERVICE] == "web"
    assert labels["app"] == "api"
    managers = {m.get("manager") for m in live["metadata"].get("managedFields", [])}
    assert f"orbit-{SET}" in managers
    await wait_healthy(client, result.inventory)


async def test_new_version_prunes_what_it_no_longer_contains(client: KubeClient) -> None:
    first = await deliver(client, [deployment(), configmap()])
    # a person's ConfigMap in the same namespace, without our labels
    await client.apply(mine(), field_manager="kubectl")
    second = await deliver(client, [deployment()], previous=first.inventory)
    assert [i.name for i in second.pruned] == ["settings"]
    assert [i.name for i in second.inventory] == ["api"]
    assert await client.get("v1", "ConfigMap", "settings", "web") is None
    assert await client.get("v1", "ConfigMap", "mine", "web") is not None


async def test_prune_skips_objects_that_are_not_ours(client: KubeClient) -> None:
    first = await deliver(client, [configmap()])
    # someone took the object over: our labels are gone, so it is theirs now
    live = await client.get("v1", "ConfigMap", "settings", "web")
    assert live is not None
    live["metadata"]["labels"] = {}
    live["metadata"].pop("managedFields", None)
    cls: Any = await client.resource("v1", "ConfigMap")
    await client.api.replace(cls(live))
    second = await deliver(client, [configmap("other")], previous=first.inventory)
    assert second.pruned == []
    assert await client.get("v1", "ConfigMap", "settings", "web") is not None


async def test_drift_missing_and_changed(client: KubeClient) -> None:
    svc = service()
    manifests = [deployment(), configmap()]
    result = await deliver(client, manifests, svc=svc)
    applied = await engine.prepare(client, manifests, set_name=SET, service=svc)
    assert await engine.detect_drift(client, result.inventory, applied=applied) == []
    # as a person with kubectl would: delete the ConfigMap, scale the Deployment
    cm_cls: Any = await client.resource("v1", "ConfigMap")
    await client.api.delete(cm_cls, "settings", namespace="web")
    deploy_cls: Any = await client.resource("apps/v1", "Deployment")
    await client.api.patch(
        deploy_cls, "api", {"spec": {"replicas": 3}}, namespace="web", patch_type=PatchType.MERGE
    )
    drift = await engine.detect_drift(client, result.inventory, applied=applied)
    by_name = {d.item.name: d for d in drift}
    assert by_name["settings"].kind == "missing"
    assert by_name["api"].kind == "changed"
    assert "spec.replicas" in by_name["api"].detail
    # re-applying with force restores both
    await deliver(client, manifests, previous=result.inventory, svc=svc, force=True)
    assert await engine.detect_drift(client, result.inventory, applied=applied) == []


async def test_remove_deletes_exactly_the_inventory(client: KubeClient) -> None:
    result = await deliver(client, [deployment(), configmap()])
    await client.apply(mine(), field_manager="kubectl")
    assert await engine.remove(client, set_name=SET, inventory=result.inventory) == []
    assert await client.get("apps/v1", "Deployment", "api", "web") is None
    assert await client.get("v1", "ConfigMap", "settings", "web") is None
    assert await client.get("v1", "ConfigMap", "mine", "web") is not None
    # removing again is harmless (404 is fine)
    assert await engine.remove(client, set_name=SET, inventory=result.inventory) == []


async def test_remove_leaves_objects_of_another_set(client: KubeClient) -> None:
    result = await deliver(client, [configmap()])
    assert await engine.remove(client, set_name="other-set", inventory=result.inventory) == []
    assert await client.get("v1", "ConfigMap", "settings", "web") is not None


async def test_unschedulable_deployment_reports_the_reason(client: KubeClient) -> None:
    result = await deliver(client, [deployment("huge", cpu="64")])

    async def unschedulable() -> engine.Observation | None:
        seen = await engine.observe(client, result.inventory)
        return seen if seen.health.reason == "Unschedulable" else None

    seen = await eventually(unschedulable, what="Unschedulable")
    assert not seen.health.healthy
    assert "Deployment web/huge" in seen.health.message
    assert "cpu" in seen.health.message


async def by_hand(client: KubeClient, manifest: dict[str, Any]) -> None:
    """Apply as a person with ``kubectl apply --server-side`` would, namespace first."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}
    await client.apply(namespace, field_manager="kubectl")
    await client.apply(manifest, field_manager="kubectl")


async def test_field_manager_conflict_is_a_conflict_error(client: KubeClient) -> None:
    await by_hand(
        client,
        {**configmap(value="theirs"), "metadata": {"name": "settings", "namespace": "web"}},
    )
    with pytest.raises(engine.ApplyError) as info:
        await deliver(client, [configmap(value="ours")])
    assert info.value.reason == "Conflict"
    assert "ConfigMap web/settings" in info.value.message
    assert not info.value.transient
    # forced, we take the field over
    await deliver(client, [configmap(value="ours")], force=True)
    live = await client.get("v1", "ConfigMap", "settings", "web")
    assert live is not None and live["data"]["v"] == "ours"


async def test_partial_apply_keeps_what_was_applied_in_the_inventory(client: KubeClient) -> None:
    await by_hand(
        client,
        {**configmap("b", "theirs"), "metadata": {"name": "b", "namespace": "web"}},
    )
    with pytest.raises(engine.ApplyError) as info:
        await deliver(client, [configmap("a"), configmap("b")])
    assert [i.name for i in info.value.inventory] == ["a"]


async def test_custom_kind_through_its_crd(client: KubeClient) -> None:
    crd = yaml.safe_load(
        """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""
    )
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3},
    }
    result = await deliver(client, [widget, crd])
    assert {(i.kind, i.namespace) for i in result.inventory} == {
        ("CustomResourceDefinition", None),
        ("Widget", "web"),
    }
    live = await client.get("example.com/v1", "Widget", "w1", "web")
    assert live is not None and live["spec"]["size"] == 3


async def test_invalid_manifest_is_refused_before_anything_is_applied(client: KubeClient) -> None:
    with pytest.raises(DeliveryError) as info:
        await deliver(client, [configmap("a"), {"apiVersion": "v1", "kind": "ConfigMap"}])
    assert info.value.reason == "Invalid"
    assert await client.get("v1", "ConfigMap", "a", "web") is None
    with pytest.raises(DeliveryError, match="twice"):
        await deliver(client, [configmap("a"), configmap("a", "2")])


async def test_unreachable_cluster_is_transient(plane: Plane) -> None:  # noqa: F811
    uid = await plane.cluster("beta")
    document = yaml.safe_load(await plane.sim.kubeconfig(uid))
    good = document["clusters"][0]["cluster"]["server"]
    document["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9/nothing"
    unreachable = KubeClient.from_kubeconfig(yaml.safe_dump(document), timeout=2.0)
    document["clusters"][0]["cluster"]["server"] = good
    document["users"][0]["user"]["token"] = "wrong"
    refused = KubeClient.from_kubeconfig(yaml.safe_dump(document))
    try:
        with pytest.raises(DeliveryError) as info:
            await deliver(unreachable, [configmap()])
        assert (info.value.reason, info.value.transient) == ("ClusterUnreachable", True)
        with pytest.raises(DeliveryError) as info:
            await deliver(refused, [configmap()])
        assert (info.value.code, info.value.transient) == (401, True)
    finally:
        await unreachable.close()
        await refused.close()
