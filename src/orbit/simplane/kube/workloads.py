"""The write side of workload simulation: which pods a Deployment, StatefulSet or DaemonSet has.

When a workload is written, :func:`track` updates the pod identities the plane keeps for it in
the row's ``state`` column (never shown to clients): names, uids and creation times. Whether a
pod is scheduled, where, and whether it is Ready is decided on read by
:mod:`orbit.simplane.kube.simulation`, from these times, the cluster's nodes and the clock.

- A Deployment gets ``replicas`` pods named ``<name>-<template hash>-<suffix>``; a new pod
  template replaces them all with new pods (created now), a replica change adds or drops pods.
- A StatefulSet's pods are ``<name>-0..n-1``; a new template recreates them.
- A DaemonSet keeps only its template hash and when it changed: it has one pod per node.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from typing import Any

# The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def short_hash(value: Any, length: int = 10) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:length])


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def template_hash(body: dict[str, Any]) -> str:
    return short_hash((body.get("spec") or {}).get("template") or {})


def replicas(body: dict[str, Any]) -> int:
    value = (body.get("spec") or {}).get("replicas", 1)
    return value if isinstance(value, int) and value >= 0 else 1


def track(kind: str, body: dict[str, Any], state: dict[str, Any] | None, *, now: float) -> Any:
    """The workload's new state after ``body`` was written at ``now``."""
    digest = template_hash(body)
    if kind == "DaemonSet":
        if state and state.get("hash") == digest:
            return state
        return {"hash": digest, "rolled": now}
    name = body["metadata"]["name"]
    if state is None or state.get("hash") != digest:
        pods: list[dict[str, Any]] = []
        rolled = now
    else:
        pods = list(state.get("pods") or [])[: replicas(body)]
        rolled = state["rolled"]
    while len(pods) < replicas(body):
        pods.append(_identity(kind, name, digest, len(pods), now))
    return {"hash": digest, "rolled": rolled, "pods": pods}


def replace_pod(
    kind: str, body: dict[str, Any], state: dict[str, Any], pod: str, *, now: float
) -> Any:
    """The state after pod ``pod`` was deleted: its controller creates a replacement at once."""
    pods = list(state.get("pods") or [])
    for index, identity in enumerate(pods):
        if identity["name"] == pod:
            pods[index] = _identity(kind, body["metadata"]["name"], state["hash"], index, now)
    return {**state, "pods": pods}


def _identity(kind: str, name: str, digest: str, index: int, now: float) -> dict[str, Any]:
    pod = f"{name}-{index}" if kind == "StatefulSet" else f"{name}-{digest}-{random_suffix()}"
    return {"name": pod, "uid": str(uuid.uuid4()), "created": now}
