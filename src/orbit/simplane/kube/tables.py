"""Server-side printing: ``meta.k8s.io/v1 Table`` responses for ``kubectl get``.

kubectl asks for a Table (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``) and prints
its columns as they come; the columns here copy the real API server's for each built-in kind,
custom resources get ``additionalPrinterColumns`` (simple JSONPaths) and everything else gets
Name and Age. Ages are rendered by the server, as Kubernetes does, with the plane's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orbit.simplane.kube import meta
from orbit.simplane.kube.kinds import ResourceType

Column = tuple[str, str, int]  # name, type, priority
Cells = Callable[[dict[str, Any], float], list[Any]]


def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration``: 45s, 5m30s, 3h12m, 4d2h, 2y10d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _age(obj: dict[str, Any], now: float) -> str:
    created = meta.epoch((obj.get("metadata") or {}).get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration(now - created)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _name(obj: dict[str, Any]) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _node(obj: dict[str, Any], now: float) -> list[Any]:
    conditions = _get(obj, "status", "conditions") or []
    ready: dict[str, Any] = next((c for c in conditions if c["type"] == "Ready"), {})
    status = "Ready" if ready.get("status") == "True" else "NotReady"
    if _get(obj, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in meta.labels(obj) if k.startswith(prefix))
    info = _get(obj, "status", "nodeInfo") or {}
    ip = next(a["address"] for a in _get(obj, "status", "addresses") if a["type"] == "InternalIP")
    return [
        _name(obj),
        status,
        ",".join(roles) or "<none>",
        _age(obj, now),
        info.get("kubeletVersion", ""),
        ip,
        "<none>",
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _pod(obj: dict[str, Any], now: float) -> list[Any]:
    statuses = _get(obj, "status", "containerStatuses") or []
    containers = _get(obj, "spec", "containers") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    reason = _get(obj, "status", "phase") or "Pending"
    for status in statuses:
        waiting = _get(status, "state", "waiting", "reason")
        if waiting:
            reason = waiting
    return [
        _name(obj),
        f"{ready}/{len(containers)}",
        reason,
        0,
        _age(obj, now),
        _get(obj, "status", "podIP") or "<none>",
        _get(obj, "spec", "nodeName") or "<none>",
    ]


def _deployment(obj: dict[str, Any], now: float) -> list[Any]:
    status = obj.get("status") or {}
    want = _get(obj, "spec", "replicas")
    containers = _get(obj, "spec", "template", "spec", "containers") or []
    return [
        _name(obj),
        f"{status.get('readyReplicas', 0)}/{want if want is not None else 1}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(obj, now),
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
        ",".join(
            f"{k}={v}" for k, v in (_get(obj, "spec", "selector", "matchLabels") or {}).items()
        ),
    ]


def _statefulset(obj: dict[str, Any], now: float) -> list[Any]:
    status = obj.get("status") or {}
    want = _get(obj, "spec", "replicas")
    return [
        _name(obj),
        f"{status.get('readyReplicas', 0)}/{want if want is not None else 1}",
        _age(obj, now),
    ]


def _daemonset(obj: dict[str, Any], now: float) -> list[Any]:
    s = obj.get("status") or {}
    selector = _get(obj, "spec", "template", "spec", "nodeSelector") or {}
    return [
        _name(obj),
        s.get("desiredNumberScheduled", 0),
        s.get("currentNumberScheduled", 0),
        s.get("numberReady", 0),
        s.get("updatedNumberScheduled", 0),
        s.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in selector.items()) or "<none>",
        _age(obj, now),
    ]


def _replicaset(obj: dict[str, Any], now: float) -> list[Any]:
    s = obj.get("status") or {}
    return [
        _name(obj),
        _get(obj, "spec", "replicas") or 0,
        s.get("replicas", 0),
        s.get("readyReplicas", 0),
        _age(obj, now),
    ]


def _service(obj: dict[str, Any], now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}"
        f"/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    )
    external = ",".join(spec.get("externalIPs") or []) or "<none>"
    return [
        _name(obj),
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        external,
        ports or "<none>",
        _age(obj, now),
    ]


_COLUMNS: dict[tuple[str, str], tuple[list[Column], Cells]] = {
    ("", "Node"): (
        [
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        _node,
    ),
    ("", "Pod"): (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
        ],
        _pod,
    ),
    ("", "Namespace"): (
        [("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
        lambda o, now: [_name(o), _get(o, "status", "phase") or "Active", _age(o, now)],
    ),
    ("", "ConfigMap"): (
        [("Name", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)],
        lambda o, now: [
            _name(o),
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            _age(o, now),
        ],
    ),
    ("", "Secret"): (
        [
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        lambda o, now: [_name(o), o.get("type", "Opaque"), len(o.get("data") or {}), _age(o, now)],
    ),
    ("", "Service"): (
        [
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
        ],
        _service,
    ),
    ("apps", "Deployment"): (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        _deployment,
    ),
    ("apps", "StatefulSet"): (
        [("Name", "string", 0), ("Ready", "string", 0), ("Age", "string", 0)],
        _statefulset,
    ),
    ("apps", "DaemonSet"): (
        [
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            ("Age", "string", 0),
        ],
        _daemonset,
    ),
    ("apps", "ReplicaSet"): (
        [
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
        ],
        _replicaset,
    ),
}


def _custom(rtype: ResourceType) -> tuple[list[Column], Cells]:
    printer = [c for c in rtype.printer_columns if isinstance(c, dict) and c.get("jsonPath")]
    columns: list[Column] = [("Name", "string", 0)]
    columns += [
        (str(c.get("name", "")), str(c.get("type", "string")), int(c.get("priority", 0)))
        for c in printer
    ]
    has_age = any(str(c.get("jsonPath")) == ".metadata.creationTimestamp" for c in printer)
    if not has_age:
        columns.append(("Age", "string", 0))

    def cells(obj: dict[str, Any], now: float) -> list[Any]:
        row: list[Any] = [_name(obj)]
        for column in printer:
            path = str(column["jsonPath"])
            if path == ".metadata.creationTimestamp":
                row.append(_age(obj, now))
                continue
            value = _get(obj, *[p for p in path.split(".") if p])
            row.append("<none>" if value is None else value)
        if not has_age:
            row.append(_age(obj, now))
        return row

    return columns, cells


def table(
    rtype: ResourceType, objects: list[dict[str, Any]], *, now: float, resource_version: str
) -> dict[str, Any]:
    found = _COLUMNS.get((rtype.group, rtype.kind))
    columns, cells = found if found is not None else _custom(rtype)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": priority,
            }
            for name, kind, priority in columns
        ],
        "rows": [
            {
                "cells": cells(obj, now),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata") or {},
                },
            }
            for obj in objects
        ],
    }
