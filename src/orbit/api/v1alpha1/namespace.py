"""Namespace: a tenant. The only kind that is not itself namespaced."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from orbit.api.v1alpha1.meta import Model, ObjectMeta, Resource, check_dns_label


class NamespaceSpec(Model):
    description: str = ""


class NamespaceStatus(Model):
    phase: Literal["Active", "Terminating"] = "Active"


class Namespace(Resource):
    KIND: ClassVar[str] = "Namespace"
    PLURAL: ClassVar[str] = "namespaces"
    SINGULAR: ClassVar[str] = "namespace"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("ns",)
    NAMESPACED: ClassVar[bool] = False
    HAS_STATUS: ClassVar[bool] = False

    spec: NamespaceSpec = Field(default_factory=NamespaceSpec)
    status: NamespaceStatus | None = None

    @field_validator("metadata")
    @classmethod
    def _meta(cls, value: ObjectMeta) -> ObjectMeta:
        check_dns_label(value.name)
        if value.namespace:
            raise ValueError("a Namespace is not namespaced: remove metadata.namespace")
        return value
