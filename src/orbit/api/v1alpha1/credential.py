"""Credential: access to one infrastructure account for one provider.

``config`` holds the provider's non-secret settings (a region, a quota, a host list). Secret
material arrives with encryption at rest (see the identity issue); until then Orbit accepts none.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from orbit.api.v1alpha1.meta import Condition, Model, Resource


class CredentialSpec(Model):
    provider: str = Field(min_length=1)
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)


class CredentialStatus(Model):
    ready: bool | None = None
    conditions: list[Condition] = Field(default_factory=list)


class Credential(Resource):
    KIND: ClassVar[str] = "Credential"
    PLURAL: ClassVar[str] = "credentials"
    SINGULAR: ClassVar[str] = "credential"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("cred", "creds")

    spec: CredentialSpec
    status: CredentialStatus | None = None
