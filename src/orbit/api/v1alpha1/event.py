"""Event: what happened to an object, in the Kubernetes Event shape.

Repeats of the same (object, reason, message) bump ``count`` and ``lastTimestamp`` instead of
adding objects. Events outlive the object they describe (a deleted cluster's last Event says why).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from orbit.api.v1alpha1.meta import Model, Resource


class ObjectReference(Model):
    kind: str
    namespace: str | None = None
    name: str
    uid: str | None = None


class EventSource(Model):
    component: str = ""


class Event(Resource):
    KIND: ClassVar[str] = "Event"
    PLURAL: ClassVar[str] = "events"
    SINGULAR: ClassVar[str] = "event"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("ev",)
    HAS_STATUS: ClassVar[bool] = False

    involved_object: ObjectReference
    reason: str
    message: str
    type: Literal["Normal", "Warning"] = "Normal"
    count: int = Field(default=1, ge=1)
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    source: EventSource = Field(default_factory=EventSource)
