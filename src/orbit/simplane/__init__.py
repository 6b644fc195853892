"""The simulated Cluster Plane: a stand-in for real infrastructure, with its own database.

It provisions, scales, upgrades and tears down clusters with configurable node latency and
injected faults, and keeps its state in a database of its own (never the Orbit store), so a
crash of the Orbit Plane loses nothing here, as with real infrastructure. The ``sim`` provider
(``orbit.providers.sim``) drives it; ``orbit.simplane.api`` shows its own view over HTTP.

This package sits below ``orbit.providers`` and must not import it, the store or the runtime.
"""

from __future__ import annotations

from orbit.simplane.models import (
    SIZES,
    ClusterPhase,
    MachineSize,
    NodeRole,
    NodeStatus,
    SimCluster,
    SimClusterSpec,
    SimDeletion,
    SimFault,
    SimNode,
    SimNotFound,
    SimPermanentFault,
    SimTransientFault,
)
from orbit.simplane.plane import SimPlane
from orbit.simplane.settings import DEFAULT_ENDPOINT_BASE, Clock, SimPlaneSettings

__all__ = [
    "DEFAULT_ENDPOINT_BASE",
    "SIZES",
    "Clock",
    "ClusterPhase",
    "MachineSize",
    "NodeRole",
    "NodeStatus",
    "SimCluster",
    "SimClusterSpec",
    "SimDeletion",
    "SimFault",
    "SimNode",
    "SimNotFound",
    "SimPermanentFault",
    "SimPlane",
    "SimPlaneSettings",
    "SimTransientFault",
]
