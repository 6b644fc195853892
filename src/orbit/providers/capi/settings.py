"""What the ``capi`` provider is told: the Credential's ``config`` and the template's
``providerSpec``, validated with pydantic into typed settings.

The Credential names the management cluster (its kubeconfig is the secret ``kubeconfig``), the
namespace there, and the infrastructure: the API version and kinds of the Cluster API
infrastructure provider (``AWSCluster``/``AWSMachineTemplate``, ``DockerCluster``/...) and the
identity the infrastructure cluster uses. The template's ``providerSpec`` chooses the control
plane (K3s or k0smotron) and supplies the infrastructure's own fields (a region, an instance
type), which are passed through as they are: Orbit does not know every cloud's schema, the
infrastructure provider does.

A bad value is a :class:`ProviderPermanentError` whose message names the field path
(``spec.cluster.providerSpec.controlPlane.kind: ...``), so a person knows what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from orbit.api import v1alpha1
from orbit.providers.base import SPEC_PATH, ProviderPermanentError, validated

NAME = "capi"
KUBECONFIG_KEY = "kubeconfig"

K3S: Final = "KThreesControlPlane"
K0SMOTRON: Final = "K0smotronControlPlane"
ControlPlaneKind = Literal["KThreesControlPlane", "K0smotronControlPlane"]

#: Fields of the rendered objects that Orbit sets from the cluster's shape; a providerSpec
#: that sets them too is a mistake worth naming.
RESERVED_CONTROL_PLANE = ("replicas", "version", "machineTemplate", "infrastructureTemplate")
RESERVED_INFRA_CLUSTER = ("identityRef", "controlPlaneEndpoint")


class _Settings(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def _api_version(value: str) -> str:
    group, _, version = value.rpartition("/")
    if not group or not version:
        raise ValueError("must be group/version, like infrastructure.cluster.x-k8s.io/v1beta2")
    return value


class IdentityRef(_Settings):
    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)


class Infrastructure(_Settings):
    """The Cluster API infrastructure provider the credential's account is used through."""

    api_version: str = Field(min_length=3)
    cluster_kind: str = Field(min_length=1)
    machine_template_kind: str = Field(min_length=1)
    identity_ref: IdentityRef | None = None

    @field_validator("api_version")
    @classmethod
    def _check_api_version(cls, value: str) -> str:
        return _api_version(value)


class CredentialConfig(_Settings):
    """``Credential.spec.config`` of a ``capi`` credential."""

    namespace: str = Field(default="default", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    infrastructure: Infrastructure


class ControlPlane(_Settings):
    kind: ControlPlaneKind = K3S
    #: Defaults to the version the kind's provider serves today (see render.DEFAULT_VERSIONS).
    api_version: str | None = None
    #: Merged into the control plane object's ``spec`` (``kthreesConfigSpec``, ``k0sConfig``,
    #: ``service``...); Orbit sets replicas, version and the machine template.
    spec: dict[str, Any] = Field(default_factory=dict)

    @field_validator("api_version")
    @classmethod
    def _check_api_version(cls, value: str | None) -> str | None:
        return None if value is None else _api_version(value)

    @field_validator("spec")
    @classmethod
    def _not_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = [k for k in RESERVED_CONTROL_PLANE if k in value]
        if taken:
            raise ValueError(f"{', '.join(taken)} are set by Orbit from the cluster's shape")
        return value


class MachineSpecs(_Settings):
    """The infrastructure's fields, passed through to its objects."""

    #: The infrastructure cluster's ``spec`` (AWSCluster: region, sshKeyName, network...).
    cluster: dict[str, Any] = Field(default_factory=dict)
    #: Every machine template's ``spec.template.spec`` (instanceType, ami, customImage...).
    machine: dict[str, Any] = Field(default_factory=dict)
    #: Orbit machine sizes (``small``...) to the fields that make them, merged over ``machine``.
    machine_sizes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Merged last, for the control plane's machines and the workers' only.
    control_plane_machine: dict[str, Any] = Field(default_factory=dict)
    worker_machine: dict[str, Any] = Field(default_factory=dict)

    @field_validator("cluster")
    @classmethod
    def _not_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = [k for k in RESERVED_INFRA_CLUSTER if k in value]
        if taken:
            raise ValueError(
                f"{', '.join(taken)} come from the credential and the infrastructure provider"
            )
        return value


class Bootstrap(_Settings):
    #: The workers' bootstrap config template ``spec.template.spec`` (KThreesConfigTemplate:
    #: agentConfig, files, preK3sCommands...; K0sWorkerConfigTemplate: args, files...).
    spec: dict[str, Any] = Field(default_factory=dict)


class ProviderSpec(_Settings):
    """``ClusterTemplate.spec.cluster.providerSpec`` of a ``capi`` template."""

    control_plane: ControlPlane = Field(default_factory=ControlPlane)
    infrastructure: MachineSpecs = Field(default_factory=MachineSpecs)
    bootstrap: Bootstrap = Field(default_factory=Bootstrap)
    #: The Cluster's ``spec.clusterNetwork`` (pods/services cidrBlocks, serviceDomain).
    cluster_network: dict[str, Any] | None = None


def provider_spec(value: Mapping[str, Any]) -> ProviderSpec:
    """``value`` validated, or a ProviderPermanentError naming each bad field."""
    return validated(ProviderSpec, dict(value), path=SPEC_PATH, what="the template's providerSpec")


def credential_config(credential: v1alpha1.Credential) -> CredentialConfig:
    """The credential's config validated (after checking it is a ``capi`` credential)."""
    name = credential.metadata.name
    if credential.spec.provider != NAME:
        raise ProviderPermanentError(
            f'credential "{name}" is for provider "{credential.spec.provider}", not "{NAME}"'
        )
    return validated(
        CredentialConfig, credential.spec.config, path="spec.config", what=f'credential "{name}"'
    )


def management_kubeconfig(credential: v1alpha1.Credential) -> str:
    """The management cluster's kubeconfig, from the credential's opened secret values."""
    name = credential.metadata.name
    data = credential.spec.secret_data or {}
    value = data.get(KUBECONFIG_KEY)
    if not value:
        held = KUBECONFIG_KEY in credential.spec.secret_keys
        why = (
            "its secret values were not opened for this call"
            if held
            else f"set secretData.{KUBECONFIG_KEY} to the management cluster's kubeconfig"
        )
        raise ProviderPermanentError(f'credential "{name}" has no secret "{KUBECONFIG_KEY}": {why}')
    return value
