"""Content hashes, inventories and what to prune (pure functions)."""

from __future__ import annotations

from typing import Any

from orbit.api import v1alpha1
from orbit.delivery import inventory as inv


def cm(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", **meta},
        "data": data or {"a": "1"},
    }


def deploy(name: str, api_version: str = "apps/v1") -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "web"},
        "spec": {"replicas": 2},
    }


def test_hash_is_stable_across_key_order_and_ignores_status_and_server_metadata() -> None:
    a = cm("x", {"a": "1", "b": "2"})
    b = {
        "data": {"b": "2", "a": "1"},
        "metadata": {"namespace": "default", "name": "x", "uid": "u-1", "resourceVersion": "7"},
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "status": {"anything": True},
    }
    assert inv.content_hash(a) == inv.content_hash(b)
    assert len(inv.content_hash(a)) == inv.HASH_LENGTH


def test_hash_changes_with_what_we_apply() -> None:
    assert inv.content_hash(cm("x", {"a": "1"})) != inv.content_hash(cm("x", {"a": "2"}))
    assert inv.content_hash(cm("x")) != inv.content_hash(cm("x", labels={"app": "y"}))


def test_desired_hash_covers_template_and_manifests_in_any_order() -> None:
    ms = [cm("a"), deploy("b")]
    assert inv.desired_hash("t-1", ms) == inv.desired_hash("t-1", list(reversed(ms)))
    assert inv.desired_hash("t-1", ms) != inv.desired_hash("t-2", ms)
    assert inv.desired_hash("t-1", ms) != inv.desired_hash("t-1", ms[:1])


def test_build_sorts_items_and_records_hashes() -> None:
    items = inv.build([deploy("web"), cm("conf")])
    assert [(i.kind, i.namespace, i.name) for i in items] == [
        ("ConfigMap", "default", "conf"),
        ("Deployment", "web", "web"),
    ]
    assert items[0].hash == inv.content_hash(cm("conf"))
    ns = inv.item_for({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
    assert ns.namespace is None


def test_to_prune_lists_what_the_new_inventory_lacks_namespaces_last() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}
    previous = inv.build([namespace, cm("old"), deploy("web"), cm("kept")])
    new = inv.build([deploy("web"), cm("kept", {"a": "changed"})])
    pruned = inv.to_prune(previous, new)
    assert [(i.kind, i.name) for i in pruned] == [("ConfigMap", "old"), ("Namespace", "web")]


def test_identity_ignores_the_group_version() -> None:
    previous = inv.build([deploy("web", "apps/v1beta2")])
    assert inv.to_prune(previous, inv.build([deploy("web")])) == []


def test_apply_order_puts_definitions_and_namespaces_first() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "x.example.com"},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}
    ordered = inv.in_apply_order([deploy("web"), cm("c"), namespace, crd])
    assert [m["kind"] for m in ordered] == [
        "CustomResourceDefinition",
        "Namespace",
        "ConfigMap",
        "Deployment",
    ]


def test_describe() -> None:
    item = v1alpha1.InventoryItem(
        api_version="v1", kind="ConfigMap", namespace="a", name="b", hash="h"
    )
    assert inv.describe(item) == "ConfigMap a/b"
    cluster_scoped = item.model_copy(update={"kind": "Namespace", "namespace": None})
    assert inv.describe(cluster_scoped) == "Namespace b"
