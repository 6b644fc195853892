"""Node objects, read from the simulated cluster's record (nodes are the plane's, not stored).

A node appears once its kubelet registered (it finished joining). It is Ready when the plane
says so; one being upgraded is NotReady, one being drained is cordoned (unschedulable). Labels
follow K3s: servers carry ``node-role.kubernetes.io/control-plane`` and ``.../master``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from orbit.simplane.engine import Node, Record
from orbit.simplane.kube import meta, quantity
from orbit.simplane.models import SIZES

MAX_PODS = 110
_REGISTERED = frozenset({"ready", "upgrading", "draining", "deleting"})


@dataclass(frozen=True)
class Capacity:
    cpu: float
    memory: int
    pods: int = MAX_PODS


def registered(rec: Record) -> list[Node]:
    order = {"control-plane": 0, "worker": 1}
    nodes = [n for n in rec.nodes if n.status in _REGISTERED]
    return sorted(nodes, key=lambda n: (order[n.role], n.index))


def schedulable(rec: Record) -> list[Node]:
    """Ready nodes pods may run on: workers, or the servers when the cluster has no workers."""
    workers = any(
        n.role == "worker" and n.status not in ("draining", "deleting") for n in rec.nodes
    )
    return [
        n for n in registered(rec) if n.status == "ready" and (n.role == "worker" or not workers)
    ]


def capacity(node: Node) -> Capacity:
    size = SIZES[node.size]
    return Capacity(cpu=float(size.cpu), memory=quantity.memory(size.memory))


def internal_ip(node: Node) -> str:
    return f"10.0.{0 if node.role == 'control-plane' else 1}.{node.index + 10}"


def node_object(rec: Record, node: Node, *, resource_version: str) -> dict[str, Any]:
    size = SIZES[node.size]
    created = meta.timestamp(rec.created_at)
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": node.size,
    }
    if node.role == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = "true"
        labels["node-role.kubernetes.io/master"] = "true"
    resources = {
        "cpu": str(size.cpu),
        "memory": size.memory,
        "pods": str(MAX_PODS),
        "ephemeral-storage": "40Gi",
    }
    ready = node.status in ("ready", "draining")
    spec: dict[str, Any] = {
        "podCIDR": f"10.42.{node.index + (0 if node.role == 'control-plane' else 100)}.0/24",
        "providerID": f"k3s://{node.name}",
    }
    if node.status == "draining":
        spec["unschedulable"] = True
        spec["taints"] = [
            {
                "key": "node.kubernetes.io/unschedulable",
                "effect": "NoSchedule",
                "timeAdded": created,
            }
        ]
    machine = hashlib.sha256(f"{rec.uid}/{node.name}".encode()).hexdigest()[:32]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rec.uid}/nodes/{node.name}")),
            "resourceVersion": resource_version,
            "creationTimestamp": created,
            "labels": labels,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": spec,
        "status": {
            "capacity": resources,
            "allocatable": dict(resources),
            "conditions": _conditions(ready, node, created),
            "addresses": [
                {"type": "InternalIP", "address": internal_ip(node)},
                {"type": "Hostname", "address": node.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": machine,
                "systemUUID": machine,
                "bootID": machine,
                "kernelVersion": "6.1.0-sim",
                "osImage": "K3s simulated node",
                "containerRuntimeVersion": "containerd://1.7.23-k3s1",
                "kubeletVersion": node.version,
                "kubeProxyVersion": node.version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def _conditions(ready: bool, node: Node, since: str) -> list[dict[str, Any]]:
    healthy = [
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ]
    conditions = [
        {
            "type": kind,
            "status": "False",
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": since,
            "lastTransitionTime": since,
        }
        for kind, reason, message in healthy
    ]
    if ready:
        reason, message = "KubeletReady", "kubelet is posting ready status"
    else:
        reason, message = "KubeletNotReady", f"node is {node.status}"
    conditions.append(
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": since,
            "lastTransitionTime": since,
        }
    )
    return conditions
