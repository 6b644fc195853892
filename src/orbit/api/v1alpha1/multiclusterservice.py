"""MultiClusterService: services delivered to every cluster (in its namespace) whose labels
match a selector, rolled out in waves.

Rollout: when the services change, clusters move to the new revision wave by wave; within a
wave at most ``maxUnavailable`` clusters update at once; a wave must be healthy (every service
Deployed) for ``soakTime`` before the next starts; a wave that fails (a service Failed, or not
healthy within ``progressDeadline``) pauses the rollout or rolls that wave back to the
previous revision, and later waves are not touched. Clusters that start matching get the
current revision; clusters that stop matching lose the services.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from orbit.api.v1alpha1.meta import Condition, Model, Resource
from orbit.api.v1alpha1.service import Service, check_services

MCS_FINALIZER = "orbit.k8or.io/mcs-cleanup"


class LabelSelectorRequirement(Model):
    key: str
    operator: str = Field(pattern="^(In|NotIn|Exists|DoesNotExist)$")
    values: list[str] = Field(default_factory=list)


class LabelSelector(Model):
    """Kubernetes' LabelSelector: every matchLabels pair and every expression must hold."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    def to_query(self) -> str:
        """The selector in ``-l`` syntax (``a=b,c in (x,y)``)."""
        terms = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        for req in self.match_expressions:
            if req.operator == "In":
                terms.append(f"{req.key} in ({','.join(req.values)})")
            elif req.operator == "NotIn":
                terms.append(f"{req.key} notin ({','.join(req.values)})")
            elif req.operator == "Exists":
                terms.append(req.key)
            else:
                terms.append(f"!{req.key}")
        return ",".join(terms)


class Wave(Model):
    """One step of a rollout: the clusters matching ``selector``, or ``percent`` of all
    (cumulative, in cluster-name order) — exactly one of them."""

    name: str
    selector: LabelSelector | None = None
    percent: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _one(self) -> Wave:
        if (self.selector is None) == (self.percent is None):
            raise ValueError("a wave sets exactly one of selector or percent")
        return self


class OnFailure(StrEnum):
    PAUSE = "Pause"
    ROLLBACK = "Rollback"


class RolloutStrategy(Model):
    max_unavailable: int | str = Field(default=1, description="clusters updating at once: 2 or 25%")
    waves: list[Wave] = Field(default_factory=list)
    soak_time: str = "0s"
    progress_deadline: str = "10m"
    on_failure: OnFailure = OnFailure.PAUSE

    @field_validator("max_unavailable")
    @classmethod
    def _max(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 1:
                raise ValueError("maxUnavailable must be at least 1")
            return value
        if not value.endswith("%") or not value[:-1].isdigit() or not 0 < int(value[:-1]) <= 100:
            raise ValueError("maxUnavailable is a count (2) or a percentage (25%)")
        return value


class MultiClusterServiceSpec(Model):
    cluster_selector: LabelSelector = Field(default_factory=LabelSelector)
    services: list[Service] = Field(default_factory=list)
    rollout: RolloutStrategy = Field(default_factory=RolloutStrategy)
    paused: bool = False

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[Service]) -> list[Service]:
        return check_services(value)


class ClusterServiceState(Model):
    """Where one matching cluster stands."""

    name: str
    revision: int
    state: str
    reason: str = ""
    wave: str | None = None


class RolloutStatus(Model):
    revision: int = 0
    state: str = "Pending"  # Pending | Progressing | Paused | RolledBack | Complete
    failed_wave: str | None = None
    wave: str | None = None
    wave_started_at: datetime | None = None
    healthy_since: datetime | None = None
    message: str = ""
    stable_revision: int = Field(
        default=0, description="the last revision that completed: what a rollback returns to"
    )
    previous_services: list[Service] = Field(
        default_factory=list, description="the services of stableRevision"
    )
    current_services: list[Service] = Field(default_factory=list)


class MultiClusterServiceStatus(Model):
    summary: str = ""
    matching_clusters: int = 0
    clusters: list[ClusterServiceState] = Field(default_factory=list)
    rollout: RolloutStatus = Field(default_factory=RolloutStatus)
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None


class MultiClusterService(Resource):
    KIND: ClassVar[str] = "MultiClusterService"
    PLURAL: ClassVar[str] = "multiclusterservices"
    SINGULAR: ClassVar[str] = "multiclusterservice"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("mcs",)

    spec: MultiClusterServiceSpec
    status: MultiClusterServiceStatus = Field(default_factory=MultiClusterServiceStatus)
