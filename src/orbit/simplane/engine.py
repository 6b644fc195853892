"""The simulated cluster's state machine: pure functions over one cluster's record, no I/O.

Progress is a function of persisted timestamps, not of who calls when: every node transition
(join, upgrade, drain, teardown) has an ``until`` time, and :func:`advance` replays, in time
order, every transition due by ``now``, starting the next serial step (one drain or upgrade at
a time) the instant the previous one finished. So a plane that was closed for an hour and
reopened shows an hour of progress, a read can project the state without writing it, and a
write lost to an injected fault loses nothing but the caller's answer.

Rules, as a real K3s fleet would behave:
- The first control-plane node is ready ``latency`` after creation; every other node joins once
  a server is up, ``latency`` later (so 2 x latency on a new cluster).
- Scale-up adds nodes at once (they join in parallel). Scale-down cancels nodes still joining,
  newest first, then drains the newest ready nodes one at a time.
- A version change upgrades one node at a time, control plane first, then workers; a node being
  upgraded is not ready for ``latency`` and then reports the new version.
- Teardown removes every node ``latency`` after the delete began.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orbit.simplane.models import (
    SIZES,
    NodeRole,
    NodeStatus,
    SimCluster,
    SimClusterSpec,
    SimNode,
)

ROLES: tuple[NodeRole, ...] = ("control-plane", "worker")
_ROLE_TAG = {"control-plane": "cp", "worker": "worker"}
_LEAVING: frozenset[NodeStatus] = frozenset({"draining", "deleting"})
_SERIAL: frozenset[NodeStatus] = frozenset({"upgrading", "draining"})


@dataclass
class Node:
    name: str
    role: NodeRole
    index: int
    version: str
    size: str
    status: NodeStatus
    until: float | None = None
    target: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "index": self.index,
            "version": self.version,
            "size": self.size,
            "status": self.status,
            "until": self.until,
            "target": self.target,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(**data)


@dataclass
class Record:
    """Everything the plane persists about one cluster (one database row)."""

    uid: str
    namespace: str
    name: str
    token: str
    created_at: float
    as_of: float
    desired: SimClusterSpec
    nodes: list[Node] = field(default_factory=list)
    next_index: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    running_since: float | None = None
    deleting_since: float | None = None


@dataclass
class Progress:
    """What one :func:`advance` did: steps it started (``actions``) and transitions it finished."""

    actions: list[str] = field(default_factory=list)
    events: int = 0


def desired_count(spec: SimClusterSpec, role: NodeRole) -> int:
    return spec.control_plane_count if role == "control-plane" else spec.worker_count


def desired_size(spec: SimClusterSpec, role: NodeRole) -> str:
    return spec.control_plane_size if role == "control-plane" else spec.worker_size


def new_record(spec: SimClusterSpec, *, now: float, token: str, latency: float) -> Record:
    """A cluster just created at ``now``: every node joining, the first server first."""
    rec = Record(
        uid=spec.uid,
        namespace=spec.namespace,
        name=spec.name,
        token=token,
        created_at=now,
        as_of=now,
        desired=spec,
    )
    for role in ROLES:
        _join(rec, role, desired_count(spec, role), start=now, latency=latency)
    return rec


def apply_spec(rec: Record, spec: SimClusterSpec, *, now: float, latency: float) -> list[str]:
    """Record a new desired spec at ``now``; returns the actions it implies (empty if none)."""
    old = rec.desired
    if spec == old:
        return []
    actions: list[str] = []
    rec.desired = spec
    for role in ROLES:
        active = _active(rec, role)
        want = desired_count(spec, role)
        if want != desired_count(old, role):
            actions.append(f"scale {role} nodes to {want}")
        if want > len(active):
            _join(rec, role, want - len(active), start=now, latency=latency)
        elif want < len(active):
            joining = sorted((n for n in active if n.status == "joining"), key=lambda n: -n.index)
            for node in joining[: len(active) - want]:
                rec.nodes.remove(node)
    if spec.kubernetes_version != old.kubernetes_version:
        actions.append(f"upgrade to {spec.kubernetes_version}")
    if not actions:
        actions.append("update cluster settings")
    return actions


def advance(rec: Record, *, now: float, latency: float) -> Progress:
    """Replay every transition due by ``now`` and start the serial steps that follow."""
    progress = Progress()
    t = rec.as_of
    while True:
        if rec.deleting_since is None and t <= now and not _serial_busy(rec):
            started = _start_next_serial(rec, start=t, latency=latency)
            if started:
                progress.actions.append(started)
                continue
        due = min((n for n in rec.nodes if n.until is not None), key=_until, default=None)
        if due is None or _until(due) > now:
            break
        t = max(t, _until(due))
        _complete(rec, due)
        progress.events += 1
        if rec.running_since is None and rec.deleting_since is None and _all_ready(rec):
            rec.running_since = t
    rec.as_of = max(rec.as_of, now)
    return progress


def begin_delete(rec: Record, *, now: float, latency: float) -> None:
    """Start tearing the cluster down: every node goes ``latency`` from now."""
    rec.deleting_since = now
    for node in rec.nodes:
        node.status = "deleting"
        node.until = now + latency
        node.target = None


def is_gone(rec: Record) -> bool:
    return rec.deleting_since is not None and not rec.nodes


def view(rec: Record, *, endpoint: str) -> SimCluster:
    nodes = sorted(rec.nodes, key=lambda n: (ROLES.index(n.role), n.index))
    if rec.deleting_since is not None:
        phase = "deleting"
    elif rec.running_since is None:
        phase = "provisioning"
    else:
        phase = "running"
    return SimCluster(
        uid=rec.uid,
        namespace=rec.namespace,
        name=rec.name,
        phase=phase,
        kubernetes_version=rec.desired.kubernetes_version,
        labels=dict(rec.desired.labels),
        nodes=[
            SimNode(
                name=n.name,
                role=n.role,
                kubernetes_version=n.version,
                ready=n.status == "ready",
                status=n.status,
                machine_size=n.size,
                capacity=SIZES[n.size],
            )
            for n in nodes
        ],
        endpoint=endpoint,
        message=message(rec),
        created_at=_datetime(rec.created_at),
    )


def message(rec: Record) -> str:
    """What the cluster is doing now, for people."""
    if rec.deleting_since is not None:
        return f"deleting {_plural(len(rec.nodes), 'node')}"
    parts: list[str] = []
    joining = sum(1 for n in rec.nodes if n.status == "joining")
    if joining:
        parts.append(f"provisioning {_plural(joining, 'node')}")
    for node in rec.nodes:
        if node.status == "draining":
            parts.append(f"draining node {node.name}")
        elif node.status == "upgrading":
            staying = [n for n in rec.nodes if n.status not in _LEAVING]
            done = sum(1 for n in staying if n.status != "upgrading" and n.version == node.target)
            parts.append(f"upgrading node {node.name} to {node.target} ({done + 1}/{len(staying)})")
    if parts:
        return "; ".join(parts)
    return f"running {_plural(len(rec.nodes), 'node')} at {rec.desired.kubernetes_version}"


def _join(rec: Record, role: NodeRole, count: int, *, start: float, latency: float) -> None:
    server_up = _server_ready_at(rec)
    for _ in range(count):
        if server_up is None:
            until = start + latency
            server_up = until
        else:
            until = max(start, server_up) + latency
        index = rec.next_index[role]
        rec.next_index[role] = index + 1
        rec.nodes.append(
            Node(
                name=f"{rec.name}-{_ROLE_TAG[role]}-{index}",
                role=role,
                index=index,
                version=rec.desired.kubernetes_version,
                size=desired_size(rec.desired, role),
                status="joining",
                until=until,
            )
        )


def _server_ready_at(rec: Record) -> float | None:
    """When a control-plane server is (or will be) up; None if the cluster has none yet."""
    servers = [n for n in rec.nodes if n.role == "control-plane" and n.status not in _LEAVING]
    if not servers:
        return None
    if any(n.status != "joining" for n in servers):
        return float("-inf")
    return min(_until(n) for n in servers)


def _start_next_serial(rec: Record, *, start: float, latency: float) -> str | None:
    for role in ROLES:
        active = _active(rec, role)
        if len(active) > desired_count(rec.desired, role):
            ready = [n for n in active if n.status == "ready"]
            if not ready:
                return None
            node = max(ready, key=lambda n: n.index)
            node.status, node.until = "draining", start + latency
            return f"drain node {node.name}"
    version = rec.desired.kubernetes_version
    for role in ROLES:
        stale = [n for n in _active(rec, role) if n.version != version]
        if stale:
            ready = [n for n in stale if n.status == "ready"]
            if not ready:
                return None  # control plane first: wait for it rather than touch workers
            node = min(ready, key=lambda n: n.index)
            node.status, node.until, node.target = "upgrading", start + latency, version
            return f"upgrade node {node.name} to {version}"
    return None


def _complete(rec: Record, node: Node) -> None:
    if node.status in _LEAVING:
        rec.nodes.remove(node)
        return
    if node.status == "upgrading" and node.target is not None:
        node.version = node.target
    node.status, node.until, node.target = "ready", None, None


def _active(rec: Record, role: NodeRole) -> list[Node]:
    return [n for n in rec.nodes if n.role == role and n.status not in _LEAVING]


def _serial_busy(rec: Record) -> bool:
    return any(n.status in _SERIAL for n in rec.nodes)


def _all_ready(rec: Record) -> bool:
    return bool(rec.nodes) and all(n.status == "ready" for n in rec.nodes)


def _until(node: Node) -> float:
    assert node.until is not None
    return node.until


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
