"""Reading a cluster's state back from its Cluster API objects.

Pure: the objects as the management cluster returned them in, an Observation out. The rules:

- ``infrastructure_ready``: the Cluster's ``InfrastructureReady`` condition is True (or, before
  conditions, ``status.infrastructureReady``).
- nodes are the Cluster's Machines that are not being deleted: the control plane's carry the
  ``cluster.x-k8s.io/control-plane`` label, the rest are workers. A node's name is its Node's
  (``status.nodeRef.name``) once it has one, else the Machine's; its version is the Machine's
  ``spec.version`` (what Cluster API rolled out: the kubelet's own string differs per
  distribution); it is ready when the Machine's ``Ready`` condition is True, it has a Node, and,
  for the control plane, the Cluster's ``ControlPlaneReady`` is True as well.
- a k0smotron control plane has no Machines (it runs as pods in the management cluster), so its
  nodes are read from the control plane's status: ``replicas`` of them, the first
  ``readyReplicas`` ready (only while ``status.ready``), at ``status.version``.
- ``message`` says what is not ready yet, from the conditions' reasons and messages, and
  the replica counts of the control plane and the MachineDeployment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from orbit.providers.base import ClusterRef, NodeRole, Observation, ObservedNode
from orbit.providers.capi.render import CAPI_CONTROL_PLANE, LABEL_SIZE
from orbit.providers.capi.settings import K0SMOTRON

Obj = Mapping[str, Any]

CLUSTER_CONDITIONS = ("InfrastructureReady", "ControlPlaneReady", "Ready")


def condition(obj: Obj | None, kind: str) -> Mapping[str, Any] | None:
    """The v1beta1 condition ``kind`` of ``obj`` (or of its v1beta2 status block)."""
    status = (obj or {}).get("status") or {}
    lists = [status.get("conditions") or [], (status.get("v1beta2") or {}).get("conditions") or []]
    for conditions in lists:
        for entry in conditions:
            if isinstance(entry, Mapping) and entry.get("type") == kind:
                return entry
    return None


def is_true(obj: Obj | None, kind: str) -> bool:
    found = condition(obj, kind)
    return found is not None and str(found.get("status")) == "True"


def deleting(obj: Obj | None) -> bool:
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def infrastructure_ready(cluster: Obj) -> bool:
    if condition(cluster, "InfrastructureReady") is not None:
        return is_true(cluster, "InfrastructureReady")
    return bool((cluster.get("status") or {}).get("infrastructureReady"))


def control_plane_ready(cluster: Obj) -> bool:
    if condition(cluster, "ControlPlaneReady") is not None:
        return is_true(cluster, "ControlPlaneReady")
    return bool((cluster.get("status") or {}).get("controlPlaneReady"))


def observation(
    ref: ClusterRef,
    *,
    cluster: Obj,
    control_plane: Obj | None,
    machine_deployment: Obj | None,
    machines: Sequence[Obj],
) -> Observation:
    cp_ready = control_plane_ready(cluster)
    nodes: list[ObservedNode] = []
    for machine in sorted(machines, key=lambda m: str(m["metadata"]["name"])):
        if deleting(machine):
            continue
        node = machine_node(machine)
        if node.role == "control-plane" and not cp_ready:
            node = dataclasses.replace(node, ready=False)
        nodes.append(node)
    if control_plane is not None and control_plane.get("kind") == K0SMOTRON:
        nodes = hosted_control_plane_nodes(control_plane, ready=cp_ready) + nodes
    return Observation(
        ref=ref,
        nodes=tuple(nodes),
        infrastructure_ready=infrastructure_ready(cluster),
        endpoint=endpoint(cluster),
        message=message(cluster, control_plane, machine_deployment),
    )


def machine_node(machine: Obj) -> ObservedNode:
    meta, spec = machine.get("metadata") or {}, machine.get("spec") or {}
    status = machine.get("status") or {}
    labels = meta.get("labels") or {}
    node_ref = status.get("nodeRef") or {}
    role: NodeRole = "control-plane" if CAPI_CONTROL_PLANE in labels else "worker"
    return ObservedNode(
        name=str(node_ref.get("name") or meta["name"]),
        role=role,
        kubernetes_version=str(spec.get("version") or ""),
        ready=bool(node_ref) and is_true(machine, "Ready"),
        machine_size=str(labels.get(LABEL_SIZE, "")),
    )


def hosted_control_plane_nodes(control_plane: Obj, *, ready: bool) -> list[ObservedNode]:
    meta = control_plane.get("metadata") or {}
    status = control_plane.get("status") or {}
    replicas = int(status.get("replicas") or 0)
    ready_count = int(status.get("readyReplicas") or 0) if ready and status.get("ready") else 0
    version = str(status.get("version") or "")
    size = str((meta.get("labels") or {}).get(LABEL_SIZE, ""))
    return [
        ObservedNode(f"{meta['name']}-{i}", "control-plane", version, i < ready_count, size)
        for i in range(replicas)
    ]


def endpoint(cluster: Obj) -> str | None:
    found = (cluster.get("spec") or {}).get("controlPlaneEndpoint") or {}
    host, port = found.get("host"), found.get("port")
    if not host:
        return None
    return f"https://{host}:{port or 6443}"


def failure(cluster: Obj) -> str:
    """The Cluster's terminal failure (v1beta1 ``failureReason``/``failureMessage``), or ""."""
    status = cluster.get("status") or {}
    parts = [str(status.get(k) or "") for k in ("failureReason", "failureMessage")]
    return ": ".join(p for p in parts if p)


def message(cluster: Obj, control_plane: Obj | None, machine_deployment: Obj | None) -> str:
    status = cluster.get("status") or {}
    failed = failure(cluster)
    if failed:
        return f"Cluster failed: {failed}"
    waiting = []
    for kind in CLUSTER_CONDITIONS:
        found = condition(cluster, kind)
        if found is None or str(found.get("status")) != "True":
            why = "" if found is None else str(found.get("reason") or found.get("message") or "")
            waiting.append(f"{kind}" + (f" ({why})" if why else ""))
    parts = [f"Cluster {status.get('phase', 'Pending')}"]
    if waiting:
        parts.append("waiting for " + ", ".join(waiting))
    for label, obj in (("control plane", control_plane), ("workers", machine_deployment)):
        if obj is not None:
            want = (obj.get("spec") or {}).get("replicas", 0)
            ready = (obj.get("status") or {}).get("readyReplicas", 0) or 0
            parts.append(f"{label} {ready}/{want} ready")
    return "; ".join(parts)
