"""Object metadata, conditions and the base of every kind (the Kubernetes object shape).

JSON uses camelCase (``resourceVersion``), Python uses snake_case; unknown fields are rejected so
a typo in a manifest is an error with its field path, never silently dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

GROUP = "orbit.k8or.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# DNS-1123: names of namespaced objects may contain dots (subdomain), namespaces may not (label).
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def now() -> datetime:
    """The current time in UTC, truncated to seconds as Kubernetes timestamps are."""
    return datetime.now(UTC).replace(microsecond=0)


def check_subdomain(value: str) -> str:
    if len(value) > 253 or not _SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (at most 253 characters)"
        )
    return value


def check_dns_label(value: str) -> str:
    if len(value) > 63 or not _LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (at most 63 characters)"
        )
    return value


def check_label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix:
        check_subdomain(prefix)
    if len(name) > 63 or not _QUALIFIED.match(name):
        raise ValueError(f"label key {key!r} is invalid: at most 63 of [A-Za-z0-9._-]")
    return key


def check_label_value(value: str) -> str:
    if value and (len(value) > 63 or not _QUALIFIED.match(value)):
        raise ValueError(f"label value {value!r} is invalid: at most 63 of [A-Za-z0-9._-]")
    return value


class Model(BaseModel):
    """Base of every API type: camelCase aliases, strict about unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", validate_assignment=False
    )


class ObjectMeta(Model):
    name: str
    namespace: str | None = None
    uid: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    finalizers: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_subdomain(value)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return None if value is None else check_dns_label(value)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            check_label_key(key)
            check_label_value(val)
        return value


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(Model):
    """An observation of one aspect of an object, with a reason a program can match on."""

    type: str
    status: ConditionStatus
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


def set_condition(conditions: list[Condition], new: Condition) -> list[Condition]:
    """Return ``conditions`` with ``new`` in place of its type, keeping the transition time
    when the status did not change (so ``lastTransitionTime`` means what it says)."""
    out: list[Condition] = []
    found = False
    for cond in conditions:
        if cond.type != new.type:
            out.append(cond)
            continue
        found = True
        stamp = cond.last_transition_time if cond.status == new.status else None
        out.append(
            new.model_copy(
                update={"last_transition_time": stamp or new.last_transition_time or now()}
            )
        )
    if not found:
        out.append(
            new.model_copy(update={"last_transition_time": new.last_transition_time or now()})
        )
    return out


def get_condition(conditions: list[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


class Resource(Model):
    """Base of every kind. Subclasses set the class variables that route and name them."""

    KIND: ClassVar[str]
    PLURAL: ClassVar[str]
    SINGULAR: ClassVar[str]
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ()
    NAMESPACED: ClassVar[bool] = True
    HAS_STATUS: ClassVar[bool] = True

    api_version: str = API_VERSION
    kind: str = ""
    metadata: ObjectMeta

    def model_post_init(self, __context: Any) -> None:
        if not self.kind:
            self.kind = self.KIND

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value and value != cls.KIND:
            raise ValueError(
                f"kind {value!r} does not match this endpoint, which serves {cls.KIND!r}"
            )
        return value

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if value != API_VERSION:
            raise ValueError(f"unsupported apiVersion {value!r}: expected {API_VERSION!r}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The JSON form sent over the wire and stored."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @property
    def key(self) -> tuple[str, str, str]:
        """(kind, namespace, name): the identity of the object in the store."""
        return (self.KIND, self.metadata.namespace or "", self.metadata.name)
