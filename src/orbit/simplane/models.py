"""The simulated Cluster Plane's public vocabulary: what callers ask for and what they get back.

These are the infrastructure's own types (like a cloud SDK's), deliberately independent of the
Orbit API: the ``sim`` provider translates between the two. Faults form a small tree so a caller
can tell "retry later" from "a person must change something"::

    SimFault
    ├── SimTransientFault   a flaky call; ``committed`` says whether the change happened anyway
    └── SimPermanentFault   the request can never succeed as asked (unknown size, over quota)

A missing cluster is :class:`SimNotFound`, an :class:`orbit.errors.NotFound`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from orbit import errors

NodeRole = Literal["control-plane", "worker"]
NodeStatus = Literal["joining", "ready", "upgrading", "draining", "deleting"]
ClusterPhase = Literal["provisioning", "running", "deleting"]


class MachineSize(BaseModel):
    """The capacity a machine size buys, as a Kubernetes node reports it."""

    model_config = ConfigDict(frozen=True)

    cpu: int
    memory: str


SIZES: dict[str, MachineSize] = {
    "small": MachineSize(cpu=2, memory="4Gi"),
    "medium": MachineSize(cpu=4, memory="16Gi"),
    "large": MachineSize(cpu=8, memory="32Gi"),
    "xlarge": MachineSize(cpu=16, memory="64Gi"),
}


class _Model(BaseModel):
    # camelCase on the wire, like every other Orbit API, snake_case in Python.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class SimClusterSpec(_Model):
    """What a caller asks the plane to build. Semantic checks raise :class:`SimPermanentFault`."""

    uid: str = Field(min_length=1)
    namespace: str
    name: str
    kubernetes_version: str
    control_plane_count: int = 1
    control_plane_size: str = "small"
    worker_count: int = 0
    worker_size: str = "small"
    labels: dict[str, str] = Field(default_factory=dict)
    max_nodes: int | None = None


class SimNode(_Model):
    name: str
    role: NodeRole
    kubernetes_version: str
    ready: bool
    status: NodeStatus
    machine_size: str
    capacity: MachineSize


class SimCluster(_Model):
    """The plane's view of one cluster at one instant."""

    uid: str
    namespace: str
    name: str
    phase: ClusterPhase
    kubernetes_version: str
    labels: dict[str, str]
    nodes: list[SimNode]
    endpoint: str
    message: str
    created_at: datetime

    def group(self, role: NodeRole) -> list[SimNode]:
        return [n for n in self.nodes if n.role == role]


class SimDeletion(_Model):
    """Result of a delete call: ``gone`` once nothing is left; ``remaining`` names what is."""

    gone: bool
    remaining: list[str] = Field(default_factory=list)


class SimFault(Exception):
    """Base of the plane's faults. Messages are safe to show to people."""


class SimTransientFault(SimFault):
    """The call failed but may succeed if retried.

    ``committed`` is True for a lost response: the change was made, only the answer was lost.
    """

    def __init__(self, message: str, *, committed: bool) -> None:
        super().__init__(message)
        self.committed = committed


class SimPermanentFault(SimFault):
    """The request cannot succeed until a person changes it; the message says what to change."""


class SimNotFound(errors.NotFound):
    """The plane holds no cluster with that uid."""
