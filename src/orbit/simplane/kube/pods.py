"""Pod and ReplicaSet objects as clients see them, from the simulation's scheduling decisions.

A :class:`Pod` is one pod the simulation placed (or could not place); :func:`render` writes it
as the Kubernetes object, with the phase, conditions and container statuses a kubelet would
report: Pending and Unschedulable, Pending while containers are created, then Running and Ready.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from orbit.simplane.engine import Node
from orbit.simplane.kube import meta, nodes, quantity
from orbit.simplane.kube.objects import Row

_OWNER_KIND = {
    "deployments": "ReplicaSet",
    "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet",
}


@dataclass
class Pod:
    namespace: str
    name: str
    uid: str
    created: float
    order: tuple[float, int, int]
    template: dict[str, Any]
    owner: Row | None = None
    labels: dict[str, str] = field(default_factory=dict)
    pinned: str | None = None  # a DaemonSet pod's node, or a bare pod's spec.nodeName
    node: Node | None = None
    unschedulable: str | None = None
    ready_at: float | None = None

    cpu: float = 0.0
    memory: int = 0


def requests(spec: dict[str, Any]) -> tuple[float, int]:
    """CPU cores and memory bytes a pod spec requests (the sum over its containers)."""
    cpu, memory = 0.0, 0
    for container in spec.get("containers") or []:
        wanted = ((container or {}).get("resources") or {}).get("requests") or {}
        if isinstance(wanted, dict):
            with contextlib.suppress(ValueError):  # checked on write; old rows count as zero
                cpu += quantity.cpu(wanted.get("cpu", 0))
                memory += quantity.memory(wanted.get("memory", 0))
    return cpu, memory


def render(pod: Pod, *, ready: bool, now: float) -> dict[str, Any]:
    created = meta.timestamp(pod.created)
    template_meta = pod.template.get("metadata") or {}
    if pod.owner is None:
        metadata = copy.deepcopy(template_meta)
    else:
        metadata = {
            "name": pod.name,
            "namespace": pod.namespace,
            "uid": pod.uid,
            "resourceVersion": pod.owner.body["metadata"].get("resourceVersion", "1"),
            "creationTimestamp": created,
            "labels": dict(pod.labels),
            "ownerReferences": [_owner_reference(pod.owner)],
        }
        if pod.owner.resource == "deployments":
            metadata["generateName"] = pod.name[:-5]
        if template_meta.get("annotations"):
            metadata["annotations"] = dict(template_meta["annotations"])
    spec = copy.deepcopy(pod.template.get("spec") or {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    if pod.node is not None:
        spec["nodeName"] = pod.node.name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": _status(pod, spec, ready=ready, created=created),
    }


def _owner_reference(owner: Row) -> dict[str, Any]:
    kind = _OWNER_KIND[owner.resource]
    name, uid = owner.name, owner.body["metadata"].get("uid", "")
    if kind == "ReplicaSet":
        name = f"{owner.name}-{(owner.state or {}).get('hash', '')}"
        uid = replicaset_uid(owner)
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _status(pod: Pod, spec: dict[str, Any], *, ready: bool, created: str) -> dict[str, Any]:
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    qos = "Burstable" if any((c.get("resources") or {}) for c in containers) else "BestEffort"
    if pod.node is None:
        return {
            "phase": "Pending",
            "qosClass": qos,
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": created,
                    "reason": "Unschedulable",
                    "message": pod.unschedulable or "",
                }
            ],
        }
    started = meta.timestamp(pod.ready_at) if ready and pod.ready_at is not None else None
    since = started or created
    names = [str(c.get("name", "")) for c in containers]
    cond = "True" if ready else "False"

    def condition(kind: str, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": since,
            **extra,
        }

    unready = {
        "reason": "ContainersNotReady",
        "message": f"containers with unready status: [{' '.join(names)}]",
    }
    conditions = [
        condition("PodReadyToStartContainers", cond),
        condition("Initialized", "True"),
        condition("Ready", cond, **({} if ready else unready)),
        condition("ContainersReady", cond, **({} if ready else unready)),
        condition("PodScheduled", "True"),
    ]
    statuses = []
    for container in containers:
        state: dict[str, Any]
        if ready:
            state = {"running": {"startedAt": since}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        entry: dict[str, Any] = {
            "name": container.get("name", ""),
            "image": container.get("image", ""),
            "imageID": "",
            "ready": ready,
            "restartCount": 0,
            "started": ready,
            "state": state,
        }
        if ready:
            digest = hashlib.sha256(f"{pod.uid}/{entry['name']}".encode()).hexdigest()
            entry["containerID"] = f"containerd://{digest}"
        statuses.append(entry)
    status: dict[str, Any] = {
        "phase": "Running" if ready else "Pending",
        "conditions": conditions,
        "hostIP": nodes.internal_ip(pod.node),
        "hostIPs": [{"ip": nodes.internal_ip(pod.node)}],
        "startTime": created,
        "containerStatuses": statuses,
        "qosClass": qos,
    }
    if ready:
        status["podIP"] = pod_ip(pod.uid)
        status["podIPs"] = [{"ip": status["podIP"]}]
    return status


def pod_ip(uid: str) -> str:
    digest = hashlib.sha256(uid.encode()).digest()
    return f"10.42.{digest[0]}.{max(digest[1], 2)}"


def replicaset_uid(deployment: Row) -> str:
    digest = (deployment.state or {}).get("hash", "")
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{deployment.body['metadata'].get('uid')}/{digest}"))


def replicaset(deployment: Row, *, ready: int, count: int, cluster: str) -> dict[str, Any]:
    body = deployment.body
    spec = body.get("spec") or {}
    state = deployment.state or {}
    digest = state.get("hash", "")
    template = copy.deepcopy(spec.get("template") or {})
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels["pod-template-hash"] = digest
    template.setdefault("metadata", {})["labels"] = labels
    selector = copy.deepcopy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
    status: dict[str, Any] = {"replicas": count, "observedGeneration": 1}
    if ready:
        status.update(readyReplicas=ready, availableReplicas=ready, fullyLabeledReplicas=count)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{deployment.name}-{digest}",
            "namespace": deployment.namespace,
            "uid": replicaset_uid(deployment),
            "resourceVersion": body["metadata"].get("resourceVersion", "1"),
            "generation": 1,
            "creationTimestamp": meta.timestamp(float(state.get("rolled", 0.0))),
            "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deployment.name,
                    "uid": body["metadata"].get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"replicas": spec.get("replicas", 1), "selector": selector, "template": template},
        "status": status,
    }
