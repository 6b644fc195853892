"""The current state written back to git: one small YAML file per object a repository owns.

ORBOS kept "how the system sees the actual state" next to the desired state, as a readable
audit trail in the repository's history. Each owned object gets
``<writeBack.path>/<namespace>/<kind>/<name>.yaml`` (``_cluster`` for cluster-scoped kinds):
its uid (which lets a new Orbit Plane adopt the infrastructure it names: docs/gitops.md),
generation and source file, and a per-kind summary of its status (phase, conditions,
versions, nodes, services); ``writtenBy`` names the GitRepository that writes it (only that
one removes it). Only what a person reads goes in; counters and timestamps that change on every
pass (a webhook's last attempt) do not, so a commit means a real change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from orbit.api import v1alpha1

HEADER = (
    "# Written by Orbit: the current state of this object as Orbit sees it.\n"
    "# Orbit rewrites this file; edit the object's own file instead.\n"
)
_CLUSTER_SCOPED = "_cluster"


def status_path(write_back_path: str, kind: str, namespace: str | None, name: str) -> str:
    """Where an object's current state goes, relative to the repository's root."""
    return f"{write_back_path}/{namespace or _CLUSTER_SCOPED}/{kind.lower()}/{name}.yaml"


def _conditions(conditions: Iterable[v1alpha1.Condition]) -> list[dict[str, Any]]:
    out = []
    for c in conditions:
        item: dict[str, Any] = {"type": c.type, "status": c.status}
        if c.reason:
            item["reason"] = c.reason
        if c.message:
            item["message"] = c.message
        if c.last_transition_time is not None:
            item["since"] = c.last_transition_time.isoformat()
        out.append(item)
    return out


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def _cluster(obj: v1alpha1.Resource, services: Sequence[v1alpha1.ServiceStatus]) -> dict[str, Any]:
    assert isinstance(obj, v1alpha1.ClusterDeployment)
    s = obj.status
    nodes = [
        _drop_empty(
            {
                "name": n.name,
                "role": n.role,
                "version": n.kubernetes_version,
                "ready": n.ready,
                "size": n.machine_size,
            }
        )
        for n in s.nodes.items
    ]
    return _drop_empty(
        {
            "phase": s.phase.value,
            "message": s.message,
            "template": s.template,
            "kubernetesVersion": s.kubernetes_version,
            "endpoint": s.endpoint,
            "expiresAt": s.expires_at.isoformat() if s.expires_at else None,
            "nodes": _drop_empty({"ready": s.nodes.ready, "total": s.nodes.total, "items": nodes}),
            "availableUpgrades": s.available_upgrades,
            "services": [
                _drop_empty(
                    {
                        "name": svc.name,
                        "namespace": svc.namespace,
                        "template": svc.template,
                        "state": svc.state.value,
                        "reason": svc.reason,
                        "message": svc.message,
                    }
                )
                for svc in sorted(services, key=lambda x: (x.namespace, x.name))
            ],
            "conditions": _conditions(s.conditions),
        }
    )


def _rollout(obj: v1alpha1.Resource, _: Sequence[v1alpha1.ServiceStatus]) -> dict[str, Any]:
    assert isinstance(obj, v1alpha1.MultiClusterService)
    s = obj.status
    rollout = s.rollout.model_dump(mode="json", by_alias=True, exclude_none=True)
    return _drop_empty(
        {
            "summary": s.summary,
            "matchingClusters": s.matching_clusters,
            "rollout": _drop_empty(rollout),
            "conditions": _conditions(s.conditions),
        }
    )


def _generic(obj: v1alpha1.Resource, _: Sequence[v1alpha1.ServiceStatus]) -> dict[str, Any]:
    """Conditions, and the few fields of each kind a person reads (no counters)."""
    status = getattr(obj, "status", None)
    if status is None:
        return {}
    summary: dict[str, Any] = {}
    for field in ("phase", "valid", "ready", "message", "last_error", "last_synced_commit"):
        value = getattr(status, field, None)
        if value is not None:
            summary[field] = value.value if hasattr(value, "value") else value
    if isinstance(obj, v1alpha1.Credential):
        summary["secretKeys"] = obj.spec.secret_keys
    summary["conditions"] = _conditions(getattr(status, "conditions", []))
    camel = {_camel(k): v for k, v in summary.items()}
    return _drop_empty(camel)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_SUMMARIES: Mapping[
    str, Callable[[v1alpha1.Resource, Sequence[v1alpha1.ServiceStatus]], dict[str, Any]]
] = {
    "ClusterDeployment": _cluster,
    "MultiClusterService": _rollout,
}


def status_document(
    obj: v1alpha1.Resource,
    *,
    repository: str,
    source: str,
    services: Sequence[v1alpha1.ServiceStatus] = (),
) -> dict[str, Any]:
    """The written-back form of ``obj`` (``services``: a cluster's, from its ServiceSets;
    ``repository``: ``namespace/name`` of the GitRepository that owns and writes it)."""
    meta = _drop_empty(
        {
            "namespace": obj.metadata.namespace,
            "name": obj.metadata.name,
            "uid": obj.metadata.uid,
            "generation": obj.metadata.generation,
        }
    )
    if obj.metadata.deletion_timestamp is not None:
        meta["deleting"] = True
    summarise = _SUMMARIES.get(obj.KIND, _generic)
    doc: dict[str, Any] = {
        "apiVersion": obj.api_version,
        "kind": obj.KIND,
        "metadata": meta,
        "source": source,
        "writtenBy": repository,
    }
    status = summarise(obj, services)
    if status:
        doc["status"] = status
    return doc


def render(doc: Mapping[str, Any]) -> bytes:
    """A status document as the bytes of its file (stable: same document, same bytes)."""
    body = yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False, width=100)
    return (HEADER + body).encode()


@dataclass(frozen=True)
class Recorded:
    """What a status file already in the repository says (for adoption)."""

    uid: str | None
    deleting: bool
    phase: str | None
    repository: str | None


def read_recorded(text: bytes) -> Recorded | None:
    """The uid and phase a status file recorded; None if it is not one of ours."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        return None
    meta = doc["metadata"]
    status = doc.get("status") if isinstance(doc.get("status"), dict) else {}
    uid = meta.get("uid")
    phase = status.get("phase") if isinstance(status, dict) else None
    writer = doc.get("writtenBy")
    return Recorded(
        uid=uid if isinstance(uid, str) else None,
        deleting=bool(meta.get("deleting")),
        phase=phase if isinstance(phase, str) else None,
        repository=writer if isinstance(writer, str) else None,
    )


@dataclass(frozen=True)
class Change:
    """One status file to write (``content``) or remove (None), and what to say about it."""

    path: str
    content: bytes | None
    summary: str


def describe(doc: Mapping[str, Any] | None, *, kind: str, key: str) -> str:
    """A line of the commit message for one object's new state."""
    if doc is None:
        return f"{kind} {key} is gone"
    status = doc.get("status") or {}
    phase = status.get("phase") or status.get("summary")
    if phase:
        return f"{kind} {key}: {phase}"
    ready = next((c for c in status.get("conditions", []) if c.get("type") == "Ready"), None)
    if ready is not None:
        state = "Ready" if ready.get("status") == "True" else f"not Ready ({ready.get('reason')})"
        return f"{kind} {key}: {state}"
    return f"{kind} {key}: recorded"


def commit_message(changes: Sequence[Change], *, repository: str, limit: int = 20) -> str:
    """``orbit: <one change>`` or ``orbit: current state of N objects``, with a line each."""
    if len(changes) == 1:
        head = f"orbit: {changes[0].summary}"
    else:
        head = f"orbit: current state of {len(changes)} objects"
    lines = [f"- {c.summary}" for c in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"- and {len(changes) - limit} more")
    return "\n".join([head, "", *lines, "", f"Written back by GitRepository {repository}."])
