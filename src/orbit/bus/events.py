"""The lifecycle event: its JSON shape (a pydantic model, published as JSON Schema in
docs/events.md), its types, and the subject it is published on.

An event is CloudEvents-like (``specversion`` 1.0, ``id``, ``source``, ``type``, ``time``) with
the object it is about spelled out (``namespace``, ``kind``, ``name``, ``uid``,
``resourceVersion``) and a small ``data`` object (``reason``, ``message`` and a few
type-specific fields). Ids are stable: the same transition derived twice from the store (a
publisher restarted mid-batch, two publishers during a lease hand-over) gets the same id, so a
consumer, JetStream's deduplication (``Nats-Msg-Id``) and the webhook receivers can recognise a
repeat.

Subjects: ``orbit.events.<namespace>.<kind>.<name>``, kind lower-case (``clusterdeployment``),
``_`` for the namespace of a cluster-scoped object, and every ``.`` of a name written ``_``
(names are DNS subdomains, which never hold ``_``, so the mapping is reversible; namespaces are
DNS labels and hold neither).
"""

from __future__ import annotations

import fnmatch
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SUBJECT_PREFIX = "orbit.events"
ALL_SUBJECTS = f"{SUBJECT_PREFIX}.>"
SPEC_VERSION = "1.0"


class EventType(StrEnum):
    """Every lifecycle event type (the CloudEvents ``type``)."""

    CLUSTER_CREATED = "orbit.cluster.created"
    CLUSTER_PROVISIONING = "orbit.cluster.provisioning"
    CLUSTER_READY = "orbit.cluster.ready"
    CLUSTER_SCALED = "orbit.cluster.scaled"
    CLUSTER_UPGRADED = "orbit.cluster.upgraded"
    CLUSTER_FAILED = "orbit.cluster.failed"
    CLUSTER_EXPIRED = "orbit.cluster.expired"
    CLUSTER_DELETED = "orbit.cluster.deleted"
    SERVICE_DEPLOYED = "orbit.service.deployed"
    SERVICE_DRIFTED = "orbit.service.drifted"
    SERVICE_FAILED = "orbit.service.failed"
    ROLLOUT_WAVE_STARTED = "orbit.rollout.wave.started"
    ROLLOUT_WAVE_PAUSED = "orbit.rollout.wave.paused"
    ROLLOUT_ROLLED_BACK = "orbit.rollout.rolledback"
    ROLLOUT_COMPLETED = "orbit.rollout.completed"


class LifecycleEvent(BaseModel):
    """One lifecycle event, as published on the bus and POSTed to webhooks."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    specversion: Literal["1.0"] = Field(default="1.0", description="CloudEvents version.")
    id: str = Field(
        min_length=1,
        description="Stable id: the same transition always has the same id (deduplicate on it).",
    )
    source: str = Field(description="The object's API path (/apis/orbit.k8or.io/v1alpha1/...).")
    type: EventType = Field(description="What happened.")
    time: datetime = Field(description="When it happened (UTC).")
    namespace: str | None = Field(description="The object's namespace; null if cluster-scoped.")
    kind: str = Field(description="The object's kind, e.g. ClusterDeployment.")
    name: str = Field(description="The object's name.")
    uid: str | None = Field(description="The object's uid.")
    resource_version: str = Field(
        alias="resourceVersion",
        description="The store revision the transition was derived from (increases per object).",
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="reason and message (always), and type-specific fields (see docs/events.md).",
    )

    @property
    def subject(self) -> str:
        return subject_for(self.namespace, self.kind, self.name)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> LifecycleEvent:
        return cls.model_validate_json(raw)


def subject_for(namespace: str | None, kind: str, name: str) -> str:
    """``orbit.events.<namespace>.<kind>.<name>`` (see the module docstring)."""
    return f"{SUBJECT_PREFIX}.{namespace or '_'}.{kind.lower()}.{name.replace('.', '_')}"


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return i == len(want) - 1 and len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def type_matches(pattern: str, type_: str) -> bool:
    """Shell-style matching of an event type (``orbit.cluster.*``)."""
    return fnmatch.fnmatchcase(type_, pattern)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a lifecycle event (printed in docs/events.md)."""
    return LifecycleEvent.model_json_schema(by_alias=True)
