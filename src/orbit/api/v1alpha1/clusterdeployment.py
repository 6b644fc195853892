"""ClusterDeployment: one cluster of the Cluster Plane.

Spec: which template and credential, the template's parameters (``config``), and a lifetime
(``ttl`` counted from creation, or an absolute ``expiresAt``). Status: a phase for people, the
conditions a program can match on (each with a reason constant from this module), the nodes and
their versions, the endpoint, the upgrades the current template allows, and observedGeneration.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from orbit.api.v1alpha1.meta import Condition, Model, Resource, check_subdomain
from orbit.api.v1alpha1.service import Service, check_services

FINALIZER = "orbit.k8or.io/cluster-teardown"

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """Parse ``1d2h30m10s`` style durations (any subset, in that order)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: use forms like 90s, 15m, 2h, 7d or 1h30m")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class Phase(StrEnum):
    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    READY = "Ready"
    UPDATING = "Updating"
    DELETING = "Deleting"
    FAILED = "Failed"


class ConditionType(StrEnum):
    TEMPLATE_VALID = "TemplateValid"
    CREDENTIAL_VALID = "CredentialValid"
    INFRASTRUCTURE_READY = "InfrastructureReady"
    CONTROL_PLANE_READY = "ControlPlaneReady"
    WORKERS_READY = "WorkersReady"
    READY = "Ready"
    STALLED = "Stalled"


class Reason(StrEnum):
    """Condition reasons: stable strings a program (or a grouped failure summary) matches on."""

    SUCCEEDED = "Succeeded"
    TEMPLATE_NOT_FOUND = "TemplateNotFound"
    TEMPLATE_INVALID = "TemplateInvalid"
    CONFIG_INVALID = "ConfigInvalid"
    CREDENTIAL_NOT_FOUND = "CredentialNotFound"
    PROVIDER_MISMATCH = "ProviderMismatch"
    PROVIDER_UNKNOWN = "ProviderUnknown"
    PROVISIONING = "Provisioning"
    SCALING = "Scaling"
    UPGRADING = "Upgrading"
    WAITING_FOR_NODES = "WaitingForNodes"
    PROVIDER_ERROR = "ProviderError"
    PROVIDER_FAILED = "ProviderFailed"
    DELETING = "Deleting"
    EXPIRED = "Expired"


class ClusterDeploymentSpec(Model):
    template: str
    credential: str
    config: dict[str, Any] = Field(default_factory=dict)
    ttl: str | None = None
    expires_at: datetime | None = None
    services: list[Service] = Field(default_factory=list)

    @field_validator("template", "credential")
    @classmethod
    def _ref(cls, value: str) -> str:
        return check_subdomain(value)

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= timedelta(0):
            raise ValueError("ttl must be longer than zero")
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[Service]) -> list[Service]:
        return check_services(value)

    @model_validator(mode="after")
    def _one_lifetime(self) -> ClusterDeploymentSpec:
        if self.ttl is not None and self.expires_at is not None:
            raise ValueError("set either ttl or expiresAt, not both")
        return self


class NodeInfo(Model):
    name: str
    role: str
    kubernetes_version: str
    ready: bool
    machine_size: str = ""


class NodesStatus(Model):
    ready: int = 0
    total: int = 0
    versions: dict[str, int] = Field(default_factory=dict)
    items: list[NodeInfo] = Field(default_factory=list)


class ClusterDeploymentStatus(Model):
    phase: Phase = Phase.PENDING
    conditions: list[Condition] = Field(default_factory=list)
    nodes: NodesStatus = Field(default_factory=NodesStatus)
    kubernetes_version: str | None = None
    template: str | None = None
    endpoint: str | None = None
    available_upgrades: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None
    message: str | None = None
    observed_generation: int | None = None


class ClusterDeployment(Resource):
    KIND: ClassVar[str] = "ClusterDeployment"
    PLURAL: ClassVar[str] = "clusterdeployments"
    SINGULAR: ClassVar[str] = "clusterdeployment"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("cd", "cluster", "clusters")

    spec: ClusterDeploymentSpec
    status: ClusterDeploymentStatus = Field(default_factory=ClusterDeploymentStatus)

    def expiry(self) -> datetime | None:
        """When this cluster is to be torn down, from ``expiresAt`` or creation + ``ttl``."""
        if self.spec.expires_at is not None:
            return self.spec.expires_at
        if self.spec.ttl is not None and self.metadata.creation_timestamp is not None:
            return self.metadata.creation_timestamp + parse_duration(self.spec.ttl)
        return None
