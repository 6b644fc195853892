"""ServiceSet: the services one owner (a ClusterDeployment, or a MultiClusterService) wants on
one cluster, and what the delivery engine observed of them.

Created and kept up to date by controllers, not by people: one per (cluster, owner). The
delivery engine applies each service with server-side apply under its own field manager,
keeps an inventory of the objects it applied (with content hashes) in the status, prunes what
a new version no longer contains, reports health and drift, and removes exactly its objects
when a service or the whole set goes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, field_validator

from orbit.api.v1alpha1.meta import Condition, Model, Resource
from orbit.api.v1alpha1.service import Service, SyncMode, check_services

SERVICESET_FINALIZER = "orbit.k8or.io/service-cleanup"
LABEL_CLUSTER = "orbit.k8or.io/cluster"
LABEL_OWNER_KIND = "orbit.k8or.io/owner-kind"
LABEL_OWNER_NAME = "orbit.k8or.io/owner-name"


class ServiceState(StrEnum):
    PENDING = "Pending"
    DEPLOYING = "Deploying"
    DEPLOYED = "Deployed"
    FAILED = "Failed"
    DRIFTED = "Drifted"
    DELETING = "Deleting"


class OwnerRef(Model):
    kind: str
    name: str


class ServiceSetSpec(Model):
    cluster: str
    owner: OwnerRef
    services: list[Service] = Field(default_factory=list)

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[Service]) -> list[Service]:
        return check_services(value)


class InventoryItem(Model):
    """One object the engine applied: identity plus the hash of what it applied."""

    api_version: str
    kind: str
    namespace: str | None = None
    name: str
    hash: str


class ServiceStatus(Model):
    name: str
    template: str
    namespace: str
    state: ServiceState = ServiceState.PENDING
    reason: str = ""
    message: str = ""
    sync_mode: SyncMode = SyncMode.CONTINUOUS_WITH_DRIFT_DETECTION
    healthy: bool = False
    applied_hash: str | None = None
    inventory: list[InventoryItem] = Field(default_factory=list)
    last_transition_time: datetime | None = None


class ServiceSetStatus(Model):
    services: list[ServiceStatus] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None


class ServiceSet(Resource):
    KIND: ClassVar[str] = "ServiceSet"
    PLURAL: ClassVar[str] = "servicesets"
    SINGULAR: ClassVar[str] = "serviceset"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("sset",)

    spec: ServiceSetSpec
    status: ServiceSetStatus = Field(default_factory=ServiceSetStatus)
