"""Credential: access to one infrastructure account for one provider.

``config`` holds the provider's non-secret settings (a region, a quota, a host list).
``secretData`` carries its secret values (an access key, a token): write-only, it is sealed
(encrypted at rest) apart from the object and never stored in, nor returned with, its body;
``secretKeys`` is what the API shows instead, the names of the values it holds. A write merges
``secretData`` into what is held: a name set to null removes that value, and omitting
``secretData`` keeps them all.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, field_validator

from orbit.api.v1alpha1.meta import Condition, Model, Resource

_SECRET_NAME = re.compile(r"^[A-Za-z0-9._-]{1,63}$")

#: The provider of a Credential that holds a Webhook's signing secret rather than an
#: infrastructure account: always admitted, never usable by a cluster (docs/webhooks.md).
SIGNING_PROVIDER = "webhook"


class CredentialSpec(Model):
    # A rejected value must never be echoed (secretData holds secrets).
    model_config = ConfigDict(hide_input_in_errors=True)

    provider: str = Field(min_length=1)
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    secret_data: dict[str, str | None] | None = Field(
        default=None,
        description="Write-only secret values by name (null removes one); never returned.",
        repr=False,
    )
    secret_keys: list[str] = Field(
        default_factory=list,
        description="Read-only: the names of the secret values this credential holds.",
    )

    @field_validator("secret_data")
    @classmethod
    def _secret_names(cls, value: dict[str, str | None] | None) -> dict[str, str | None] | None:
        for name in value or {}:
            if not _SECRET_NAME.match(name):
                raise ValueError(
                    f"secret name {name!r} is invalid: 1 to 63 of letters, digits, '.', '_', '-'"
                )
        return value


class CredentialStatus(Model):
    ready: bool | None = None
    conditions: list[Condition] = Field(default_factory=list)


class Credential(Resource):
    KIND: ClassVar[str] = "Credential"
    PLURAL: ClassVar[str] = "credentials"
    SINGULAR: ClassVar[str] = "credential"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("cred", "creds")
    model_config = ConfigDict(hide_input_in_errors=True)

    spec: CredentialSpec
    status: CredentialStatus | None = None
