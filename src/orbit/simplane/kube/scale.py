"""The ``/scale`` subresource of Deployments and StatefulSets (``kubectl scale``, autoscalers).

A Scale (autoscaling/v1) is a view of the workload: ``spec.replicas`` is the workload's, the
status counts its pods and names its selector. Writing a Scale writes the workload's replicas.
"""

from __future__ import annotations

import copy
from typing import Any

from orbit.simplane.kube import errors

SCALABLE = frozenset({("apps", "deployments"), ("apps", "statefulsets")})


def view(workload: dict[str, Any]) -> dict[str, Any]:
    md = workload.get("metadata") or {}
    spec = workload.get("spec") or {}
    labels = (spec.get("selector") or {}).get("matchLabels") or {}
    keep = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: md[k] for k in keep if k in md},
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": (workload.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in labels.items()),
        },
    }


def resize(workload: dict[str, Any], scale: dict[str, Any]) -> dict[str, Any]:
    """The workload with the replicas of ``scale`` (and its resourceVersion, for the check)."""
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.KubeError(
            422,
            "Invalid",
            f"spec.replicas: Invalid value: {replicas!r}: must be a number greater than or "
            "equal to 0",
        )
    new = copy.deepcopy(workload)
    new.setdefault("spec", {})["replicas"] = replicas
    wanted = (scale.get("metadata") or {}).get("resourceVersion")
    if wanted:
        new["metadata"]["resourceVersion"] = wanted
    return new
