"""The read side of workload simulation: schedule every pod of a cluster and report on it.

Computed on each read from persisted facts (pod identities and their creation times, the
cluster's nodes) and the clock, so there is no background loop and a plane reopened an hour
later shows an hour of progress:

- Pods are scheduled in creation order onto schedulable nodes (:func:`nodes.schedulable`), each
  on the node with the most free CPU that fits its requests (the sum of its containers'
  ``resources.requests``; absent is zero). A pod that fits nowhere is Pending with
  ``PodScheduled=False, reason Unschedulable`` and a message naming the short resource.
- A scheduled pod is Running and Ready ``pod_latency`` seconds after it was created (or after the
  cluster first became ready, if later).
- A workload's status counts its pods. A Deployment is Available when every replica is; a pod
  that cannot be scheduled adds ``ReplicaFailure`` with reason ``Unschedulable``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from orbit.simplane.engine import Node, Record
from orbit.simplane.kube import meta, nodes, quantity
from orbit.simplane.kube import pods as pods_view
from orbit.simplane.kube.objects import Row
from orbit.simplane.kube.pods import Pod
from orbit.simplane.kube.workloads import short_hash

_KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}


@dataclass
class _Free:
    node: Node
    cpu: float
    memory: int
    pods: int


class Simulation:
    """Every pod of one cluster at ``now``, scheduled; built from the workload rows."""

    def __init__(self, rec: Record, rows: list[Row], *, now: float, pod_latency: float) -> None:
        self._rec = rec
        self._now = now
        self._latency = pod_latency
        self._rows = rows
        self._by_owner: dict[tuple[str, str, str], list[Pod]] = {}
        self._pods: list[Pod] = []
        for row in rows:
            pods = self._expand(row)
            self._by_owner[(row.resource, row.namespace, row.name)] = pods
            self._pods.extend(pods)
        self._schedule()

    # -- building ----------------------------------------------------------------------------

    def _expand(self, row: Row) -> list[Pod]:
        body, state = row.body, row.state or {}
        name = row.name
        if row.resource == "pods":
            spec = body.get("spec") or {}
            cpu, memory = pods_view.requests(spec)
            created = meta.epoch((body.get("metadata") or {}).get("creationTimestamp")) or 0.0
            return [
                Pod(
                    namespace=row.namespace,
                    name=name,
                    uid=body["metadata"].get("uid", ""),
                    created=created,
                    order=(created, row.created_rv, 0),
                    template={"metadata": body.get("metadata") or {}, "spec": spec},
                    labels=meta.labels(body),
                    pinned=spec.get("nodeName") or None,
                    cpu=cpu,
                    memory=memory,
                )
            ]
        template = (body.get("spec") or {}).get("template") or {}
        cpu, memory = pods_view.requests(template.get("spec") or {})
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        digest = state.get("hash", "")
        if row.resource == "deployments":
            labels["pod-template-hash"] = digest
        elif row.resource == "statefulsets":
            labels["controller-revision-hash"] = f"{name}-{digest}"
        else:
            labels["controller-revision-hash"] = digest
        if row.resource == "daemonsets":
            rolled = float(state.get("rolled", 0.0))
            return [
                Pod(
                    namespace=row.namespace,
                    name=f"{name}-{short_hash([digest, node.name], 5)}",
                    uid=str(
                        uuid.uuid5(
                            uuid.NAMESPACE_URL, f"{self._rec.uid}/{name}/{node.name}/{digest}"
                        )
                    ),
                    created=rolled,
                    order=(rolled, row.created_rv, index),
                    template=template,
                    owner=row,
                    labels=labels,
                    cpu=cpu,
                    memory=memory,
                    pinned=node.name,
                )
                for index, node in enumerate(nodes.schedulable(self._rec))
            ]
        pods = []
        for index, identity in enumerate(state.get("pods") or []):
            pod_labels = dict(labels)
            if row.resource == "statefulsets":
                pod_labels["statefulset.kubernetes.io/pod-name"] = identity["name"]
            created = float(identity["created"])
            pods.append(
                Pod(
                    namespace=row.namespace,
                    name=identity["name"],
                    uid=identity["uid"],
                    created=created,
                    order=(created, row.created_rv, index),
                    template=template,
                    owner=row,
                    labels=pod_labels,
                    cpu=cpu,
                    memory=memory,
                )
            )
        return pods

    def _schedule(self) -> None:
        registered = nodes.registered(self._rec)
        free = []
        for node in nodes.schedulable(self._rec):
            cap = nodes.capacity(node)
            free.append(_Free(node, cap.cpu, cap.memory, cap.pods))
        by_name = {f.node.name: f for f in free}
        start_floor = self._rec.running_since
        for pod in sorted(self._pods, key=lambda p: p.order):
            candidates = (
                free
                if pod.pinned is None
                else [by_name[pod.pinned]]
                if pod.pinned in by_name
                else []
            )
            fits = [
                f for f in candidates if f.cpu >= pod.cpu and f.memory >= pod.memory and f.pods > 0
            ]
            if not fits:
                pod.unschedulable = _why(pod, candidates, total=len(registered))
                continue
            best = max(fits, key=lambda f: (f.cpu, f.memory))
            best.cpu -= pod.cpu
            best.memory -= pod.memory
            best.pods -= 1
            pod.node = best.node
            if start_floor is not None:
                pod.ready_at = max(pod.created, start_floor) + self._latency

    # -- reading -----------------------------------------------------------------------------

    def pods_of(self, row: Row) -> list[Pod]:
        return self._by_owner.get((row.resource, row.namespace, row.name), [])

    def all_pods(self, namespace: str | None) -> list[Pod]:
        pods = [p for p in self._pods if namespace is None or p.namespace == namespace]
        return sorted(pods, key=lambda p: (p.namespace, p.name))

    def owner_of(self, namespace: str, name: str) -> Pod | None:
        return next((p for p in self._pods if p.namespace == namespace and p.name == name), None)

    def ready(self, pod: Pod) -> bool:
        return pod.ready_at is not None and self._now >= pod.ready_at

    def rows(self, resource: str, namespace: str | None) -> list[Row]:
        return [
            r
            for r in self._rows
            if r.resource == resource and (namespace is None or r.namespace == namespace)
        ]

    def pod_object(self, pod: Pod) -> dict[str, Any]:
        return pods_view.render(pod, ready=self.ready(pod), now=self._now)

    def status(self, row: Row) -> dict[str, Any]:
        """The computed ``status`` of a Deployment, StatefulSet or DaemonSet."""
        pods = self.pods_of(row)
        ready = [p for p in pods if self.ready(p)]
        generation = row.body["metadata"].get("generation", 1)
        kind = _KINDS[row.resource]
        if kind == "DaemonSet":
            scheduled = [p for p in pods if p.node is not None]
            return _nonzero(
                {
                    "currentNumberScheduled": len(scheduled),
                    "desiredNumberScheduled": len(pods),
                    "numberAvailable": len(ready),
                    "numberMisscheduled": 0,
                    "numberReady": len(ready),
                    "numberUnavailable": len(pods) - len(ready),
                    "observedGeneration": generation,
                    "updatedNumberScheduled": len(scheduled),
                },
                keep=(
                    "currentNumberScheduled",
                    "desiredNumberScheduled",
                    "numberMisscheduled",
                    "numberReady",
                ),
            )
        counts = {
            "observedGeneration": generation,
            "replicas": len(pods),
            "updatedReplicas": len(pods),
            "readyReplicas": len(ready),
            "availableReplicas": len(ready),
        }
        if kind == "StatefulSet":
            revision = f"{row.name}-{(row.state or {}).get('hash', '')}"
            counts.update(
                currentReplicas=len(pods), currentRevision=revision, updateRevision=revision
            )
            return _nonzero(counts, keep=("replicas",))
        counts["unavailableReplicas"] = len(pods) - len(ready)
        status = _nonzero(counts, keep=())
        status["conditions"] = self._deployment_conditions(row, pods, ready)
        return status

    def _deployment_conditions(
        self, row: Row, pods: list[Pod], ready: list[Pod]
    ) -> list[dict[str, Any]]:
        state = row.state or {}
        rolled = meta.timestamp(float(state.get("rolled", self._now)))
        rs = f"{row.name}-{state.get('hash', '')}"
        want = (row.body.get("spec") or {}).get("replicas", 1)
        done = len(ready) >= want and len(pods) >= want
        last_ready = max((p.ready_at or 0.0 for p in ready), default=0.0)
        since = meta.timestamp(last_ready) if done and ready else rolled
        conditions = [
            _condition(
                "Available",
                done,
                "MinimumReplicasAvailable" if done else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if done
                else "Deployment does not have minimum availability.",
                since,
            ),
            _condition(
                "Progressing",
                True,
                "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                f'ReplicaSet "{rs}" has successfully progressed.'
                if done
                else f'ReplicaSet "{rs}" is progressing.',
                rolled,
            ),
        ]
        stuck = next((p for p in pods if p.unschedulable), None)
        if stuck is not None:
            conditions.append(
                _condition(
                    "ReplicaFailure", True, "Unschedulable", stuck.unschedulable or "", rolled
                )
            )
        return conditions

    def replicaset(self, row: Row) -> dict[str, Any]:
        """The ReplicaSet a Deployment's current template implies."""
        pods = self.pods_of(row)
        ready = sum(1 for p in pods if self.ready(p))
        return pods_view.replicaset(row, ready=ready, count=len(pods), cluster=self._rec.uid)


def _why(pod: Pod, candidates: list[_Free], *, total: int) -> str:
    prefix = f"0/{total} nodes are available: "
    if not candidates:
        if pod.pinned is not None:
            return prefix + f"node {pod.pinned} is not ready"
        return prefix + "no ready node can run pods"
    reasons = []
    best_cpu = max(c.cpu for c in candidates)
    best_memory = max(c.memory for c in candidates)
    if any(c.cpu < pod.cpu for c in candidates):
        reasons.append(
            f"insufficient cpu (requested {quantity.format_cpu(pod.cpu)}, "
            f"free {quantity.format_cpu(best_cpu)})"
        )
    if any(c.memory < pod.memory for c in candidates):
        reasons.append(
            f"insufficient memory (requested {quantity.format_memory(pod.memory)}, "
            f"free {quantity.format_memory(best_memory)})"
        )
    if any(c.pods <= 0 for c in candidates):
        reasons.append("too many pods")
    return prefix + ", ".join(reasons)


def _nonzero(values: dict[str, Any], *, keep: tuple[str, ...]) -> dict[str, Any]:
    """Kubernetes omits zero counts (``omitempty``); ``keep`` names those it always writes."""
    return {k: v for k, v in values.items() if v or k in keep or k == "observedGeneration"}


def _condition(kind: str, ok: bool, reason: str, message: str, since: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "lastUpdateTime": since,
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }
