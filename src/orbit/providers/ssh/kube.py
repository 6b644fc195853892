"""The cluster's own Kubernetes API, as the provider needs it: nodes, and draining one.

Readiness and versions come from here, not from the hosts: a node counts once its kubelet
registered and says Ready, at the version it reports. Drain is kubectl's: cordon, then evict
every pod on the node but DaemonSet and mirror pods; a pod a PodDisruptionBudget protects
(429) waits for the next call. Where the API has no eviction subresource (404 on it), the pod
is deleted instead, as ``kubectl drain`` falls back to; a pod whose delete answers 404 is gone
and no longer counted. An unreachable API is reported as such (``None``), never as an
empty cluster.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import lightkube
import yaml
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import PatchType

from orbit.providers.base import NodeRole

log = logging.getLogger("orbit.providers.ssh")

TIMEOUT = 10.0
_ERRORS = (lightkube.ApiError, httpx2.HTTPError, lightkube.ConfigError, OSError)


@dataclass(frozen=True)
class ApiNode:
    name: str
    role: NodeRole
    version: str
    ready: bool
    cordoned: bool


@asynccontextmanager
async def client(kubeconfig: bytes) -> AsyncIterator[lightkube.AsyncClient]:
    config = lightkube.KubeConfig.from_dict(yaml.safe_load(kubeconfig))
    api = lightkube.AsyncClient(config=config, trust_env=False, timeout=httpx2.Timeout(TIMEOUT))
    try:
        yield api
    finally:
        await api.close()


async def nodes(api: lightkube.AsyncClient) -> list[ApiNode] | None:
    """The cluster's nodes, or None when its API does not answer."""
    try:
        return [_node(n) async for n in api.list(Node)]
    except _ERRORS as err:
        log.info("K3s API not answering: %s", type(err).__name__)
        return None


async def drain(api: lightkube.AsyncClient, name: str) -> int | None:
    """Cordon ``name`` and evict its pods; returns how many pods are still on it (None: the
    API did not answer)."""
    try:
        await api.patch(Node, name, {"spec": {"unschedulable": True}}, patch_type=PatchType.MERGE)
        left = 0
        async for pod in api.list(Pod, namespace="*"):
            if pod.spec is None or pod.spec.nodeName != name or _stays(pod):
                continue
            meta = pod.metadata or ObjectMeta()
            if not await _evict(api, meta.name or "", meta.namespace or "default"):
                left += 1
        return left
    except lightkube.ApiError as err:
        if err.status.code == 404:
            return 0
        return None
    except _ERRORS:
        return None


async def delete_node(api: lightkube.AsyncClient, name: str) -> bool:
    """Remove the Node object (after its host was uninstalled); True once it is gone."""
    try:
        await api.delete(Node, name)
    except lightkube.ApiError as err:
        return err.status.code == 404
    except _ERRORS:
        return False
    return True


async def _evict(api: lightkube.AsyncClient, name: str, namespace: str) -> bool:
    """Evict one pod (or delete it where eviction is not served); True when it is gone."""
    eviction = Pod.Eviction(metadata=ObjectMeta(name=name, namespace=namespace))
    try:
        await api.create(eviction, name, namespace=namespace)
        return False  # evicted: terminating, counted until it is no longer listed
    except lightkube.ApiError as err:
        if err.status.code == 429:  # a PodDisruptionBudget says not yet
            return False
        if err.status.code != 404:
            raise
    # 404: the pod is gone, or this API serves no eviction subresource: delete it instead.
    try:
        await api.delete(Pod, name, namespace=namespace)
    except lightkube.ApiError as err:
        if err.status.code == 404:
            return True
        if err.status.code in (405, 422, 429):  # not deletable here (yet): wait for it to go
            return False
        raise
    return False


def _stays(pod: Any) -> bool:
    meta = pod.metadata
    if meta is None:
        return False
    if "kubernetes.io/config.mirror" in (meta.annotations or {}):
        return True
    return any(o.kind == "DaemonSet" for o in meta.ownerReferences or [])


def _node(node: Any) -> ApiNode:
    meta, status = node.metadata, node.status
    labels = (meta.labels if meta else None) or {}
    control = "node-role.kubernetes.io/control-plane" in labels
    conditions = (status.conditions if status else None) or []
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    info = status.nodeInfo if status else None
    return ApiNode(
        name=(meta.name if meta else "") or "",
        role="control-plane" if control else "worker",
        version=(info.kubeletVersion if info else "") or "",
        ready=ready,
        cordoned=bool(node.spec and node.spec.unschedulable),
    )
