"""What the delivery engine applied: object identities, content hashes, and what to prune.

A manifest's hash is the SHA-256 of its stable JSON (sorted keys, no whitespace) without
``status`` and without the server-managed metadata a live object carries (uid,
resourceVersion, managedFields, ...), so the same manifest always hashes the same, wherever it
came from. An :class:`~orbit.api.v1alpha1.InventoryItem` records the identity and hash of one
applied object; the ServiceSet status keeps the list per service, and :func:`to_prune` compares
a previous inventory with a new one.

Identity ignores the version of the API group (``apps/v1`` and ``apps/v1beta2`` name the same
Deployment), so moving a manifest to a newer version never prunes the object it describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from orbit.api import v1alpha1
from orbit.delivery import render

#: Metadata the API server owns; never part of what we apply, so never part of a hash.
SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)

#: Kinds that are not namespaced, for manifests the cluster's discovery cannot tell us about
#: (one table for rendering and delivery).
CLUSTER_SCOPED_KINDS = render.CLUSTER_SCOPED_KINDS

HASH_LENGTH = 16

Identity = tuple[str, str, str, str]
"""(API group, kind, namespace or "", name): who an object is, whatever its group version."""


def group_of(api_version: str) -> str:
    """``apps`` for ``apps/v1``, ``""`` for the core group's ``v1``."""
    return api_version.rpartition("/")[0]


def hashable(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``manifest`` without ``status`` and server-managed metadata: what a hash covers."""
    body = {k: v for k, v in manifest.items() if k != "status"}
    meta = body.get("metadata")
    if isinstance(meta, Mapping):
        body["metadata"] = {k: v for k, v in meta.items() if k not in SERVER_METADATA}
    return body


def stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(manifest: Mapping[str, Any]) -> str:
    """The hash of what applying ``manifest`` asks for (stable across key order)."""
    digest = hashlib.sha256(stable_json(hashable(manifest)).encode()).hexdigest()
    return digest[:HASH_LENGTH]


def desired_hash(template: str, manifests: Iterable[Mapping[str, Any]]) -> str:
    """The hash of a service's whole desired state: its template and every manifest, in any
    order (a change of either means the service must be applied again)."""
    parts = sorted(content_hash(m) for m in manifests)
    digest = hashlib.sha256(stable_json([template, parts]).encode()).hexdigest()
    return digest[:HASH_LENGTH]


def item_for(manifest: Mapping[str, Any]) -> v1alpha1.InventoryItem:
    meta = manifest.get("metadata") or {}
    return v1alpha1.InventoryItem(
        api_version=str(manifest["apiVersion"]),
        kind=str(manifest["kind"]),
        namespace=meta.get("namespace") or None,
        name=str(meta["name"]),
        hash=content_hash(manifest),
    )


def build(manifests: Iterable[Mapping[str, Any]]) -> list[v1alpha1.InventoryItem]:
    """The inventory of ``manifests``, sorted by identity so equal sets compare equal."""
    return sorted((item_for(m) for m in manifests), key=identity)


def identity(item: v1alpha1.InventoryItem) -> Identity:
    return (group_of(item.api_version), item.kind, item.namespace or "", item.name)


def manifest_identity(manifest: Mapping[str, Any]) -> Identity:
    meta = manifest.get("metadata") or {}
    return (
        group_of(str(manifest["apiVersion"])),
        str(manifest["kind"]),
        str(meta.get("namespace") or ""),
        str(meta["name"]),
    )


def to_prune(
    previous: Iterable[v1alpha1.InventoryItem], new: Iterable[v1alpha1.InventoryItem]
) -> list[v1alpha1.InventoryItem]:
    """Items of ``previous`` that ``new`` no longer contains, in reverse apply order (so a
    Namespace or CRD goes after the objects inside it)."""
    keep = {identity(i) for i in new}
    gone = [i for i in previous if identity(i) not in keep]
    return sorted(gone, key=lambda i: (-apply_rank(i.kind), identity(i)))


def describe(item: v1alpha1.InventoryItem) -> str:
    """``Deployment web/api`` or ``Namespace web``: an object as a person names it."""
    where = f"{item.namespace}/{item.name}" if item.namespace else item.name
    return f"{item.kind} {where}"


_FIRST = ("CustomResourceDefinition", "Namespace")
_EARLY = (
    "ResourceQuota",
    "LimitRange",
    "PriorityClass",
    "StorageClass",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
)


def apply_rank(kind: str) -> int:
    """Where ``kind`` goes in apply order, as Helm and kubectl order an install: definitions
    and namespaces first, then configuration, then workloads and everything else."""
    if kind in _FIRST:
        return _FIRST.index(kind)
    if kind in _EARLY:
        return len(_FIRST) + _EARLY.index(kind)
    return len(_FIRST) + len(_EARLY)


def in_apply_order(manifests: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``manifests`` sorted into apply order (stable within a kind)."""
    return sorted(manifests, key=lambda m: apply_rank(str(m.get("kind", ""))))
