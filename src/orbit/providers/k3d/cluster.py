"""A k3d cluster as ``k3d cluster list -o json`` shows it, and the one step that moves it
toward the desired cluster.

The JSON shapes are k3d v5's (``pkg/types``): a cluster has ``name`` and ``nodes``; a node has
``name``, ``role`` (``server``, ``agent``, ``loadbalancer``, ``registry``), ``image``,
``State`` (``Running``, ``Status``: the container's) and ``runtimeLabels`` (k3d's own ``k3d*``
labels only, e.g. ``k3d.server.api.port``).

:func:`plan` looks at what is there and names the single next command, or None when the
cluster is converged. One step per ensure call keeps every call short and bounded, and a call
cut off anywhere is simply planned again from what k3d shows. k3d has no in-place upgrade, so a
node on another image is replaced by surge: a node on the new image is created and must be
running before an old one is removed, the control plane first and then the agents (Kubernetes'
version skew policy: a kubelet must not be newer than its API server).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orbit.providers.base import NodeRole, ProviderPermanentError

K3dRole = Literal["server", "agent"]
ROLES: dict[K3dRole, NodeRole] = {"server": "control-plane", "agent": "worker"}
API_PORT = "k3d.server.api.port"
API_HOST_IP = "k3d.server.api.hostIP"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class NodeState(_Lenient):
    running: bool = Field(default=False, alias="Running")
    status: str = Field(default="", alias="Status")


class K3dNode(_Lenient):
    name: str
    role: str = ""
    image: str = ""
    state: NodeState = Field(default_factory=NodeState, alias="State")
    runtime_labels: dict[str, str] = Field(default_factory=dict, alias="runtimeLabels")

    @property
    def running(self) -> bool:
        return self.state.running and self.state.status in ("", "running")


class K3dCluster(_Lenient):
    name: str
    nodes: list[K3dNode] = Field(default_factory=list)

    def group(self, role: K3dRole) -> list[K3dNode]:
        return sorted((n for n in self.nodes if n.role == role), key=lambda n: n.name)

    def endpoint(self) -> str | None:
        """The Kubernetes API as k3d exposed it on the host (from its ``k3d.server.api.*``
        labels); ``0.0.0.0`` means every address, so loopback is used."""
        for node in self.nodes:
            port = node.runtime_labels.get(API_PORT)
            if port:
                host = node.runtime_labels.get(API_HOST_IP) or "127.0.0.1"
                return f"https://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
        return None


def parse_clusters(stdout: bytes) -> list[K3dCluster]:
    """``k3d cluster list -o json``'s output."""
    try:
        raw = json.loads(stdout or b"[]")
        return [K3dCluster.model_validate(item) for item in raw or []]
    except (ValueError, TypeError, ValidationError) as err:
        raise ProviderPermanentError(
            "`k3d cluster list -o json` printed something else than a list of clusters "
            f"({type(err).__name__}); the k3d provider needs k3d v5"
        ) from None


@dataclass(frozen=True)
class CreateNode:
    role: K3dRole
    #: The NAME given to ``k3d node create``; k3d names the container ``k3d-NAME-0``.
    name: str
    message: str


@dataclass(frozen=True)
class DeleteNode:
    node: str
    message: str
    #: A running server to remove the Kubernetes Node through (etcd membership), if any.
    via: str | None


@dataclass(frozen=True)
class Wait:
    message: str


Step = CreateNode | DeleteNode | Wait


def plan(cluster: K3dCluster, *, servers: int, agents: int, image: str) -> Step | None:
    """The next step toward ``servers`` and ``agents`` nodes on ``image``; None when there."""
    for role, want in (("server", servers), ("agent", agents)):
        step = _plan_role(cluster, role, want, image)  # type: ignore[arg-type]
        if step is not None:
            return step
    return None


def _plan_role(cluster: K3dCluster, role: K3dRole, want: int, image: str) -> Step | None:
    group = cluster.group(role)
    fresh = [n for n in group if n.image == image]
    stale = [n for n in group if n.image != image]
    what = ROLES[role]
    starting = [n.name for n in fresh if not n.running]
    if starting:
        return Wait(f"waiting for {what} {', '.join(starting)} to run")
    if stale and len(group) > want:
        return _delete(cluster, role, stale, image, f"replaced on {image}")
    if len(fresh) < want:
        name = next_node_name(cluster, role)
        doing = f"replacing {what} {stale[0].name} ({stale[0].image})" if stale else "scaling up"
        return CreateNode(
            role,
            name,
            f"{doing}: creating {what} k3d-{name}-0 on {image} "
            f"({len(fresh) + 1}/{want} on {image})",
        )
    if len(group) <= want:
        return None
    return _delete(cluster, role, stale or fresh, image, f"scaling down to {want}")


def _delete(
    cluster: K3dCluster, role: K3dRole, candidates: list[K3dNode], image: str, reason: str
) -> DeleteNode:
    """Remove one of ``candidates``: old images first, stopped before running, then the newest;
    through a running server other than the one removed."""
    victim = sorted(candidates, key=lambda n: (n.image == image, n.running, _newest_first(n.name)))[
        0
    ]
    via = next((s.name for s in cluster.group("server") if s.running and s is not victim), None)
    return DeleteNode(victim.name, f"{reason}: removing {ROLES[role]} {victim.name}", via)


def _newest_first(name: str) -> tuple[int, ...]:
    """A sort key putting later-made nodes (higher numbers in the name) first."""
    return tuple(-int(part) for part in re.findall(r"\d+", name))


def next_node_name(cluster: K3dCluster, role: K3dRole) -> str:
    """``<cluster>-<role>-<n>``, the smallest n whose container names are all free."""
    taken = {n.name for n in cluster.nodes}
    n = 0
    while f"k3d-{cluster.name}-{role}-{n}" in taken or f"k3d-{cluster.name}-{role}-{n}-0" in taken:
        n += 1
    return f"{cluster.name}-{role}-{n}"
