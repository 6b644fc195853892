"""The provider contract: four idempotent operations keyed by the ClusterDeployment's uid.

A provider keeps no hidden state: everything it knows it reads back from the infrastructure, so
an Orbit Plane killed at any instant and restarted neither leaks nor duplicates a cluster.
``ensure_cluster`` creates or converges (node counts, versions) and returns what it observes;
it is called again and again until the observation matches the desired cluster. Upgrades and
scale-downs go one node at a time inside the provider; each call reports progress.

Errors::

    ProviderError
    ├── ProviderTransientError   retry with backoff (a timeout, a rate limit, a flaky API)
    └── ProviderPermanentError   stop and tell the user (quota, bad credential, unknown size)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from orbit.api import v1alpha1
from orbit.errors import Cause

NodeRole = Literal["control-plane", "worker"]
M = TypeVar("M", bound=BaseModel)

#: Where a provider's own template settings live, for error messages.
SPEC_PATH = "spec.cluster.providerSpec"


class ProviderError(Exception):
    """Base of provider errors. The message must be safe to show (no secrets)."""


class ProviderTransientError(ProviderError):
    """The operation may succeed if retried later."""


class ProviderPermanentError(ProviderError):
    """Retrying will not help until a person changes something; the message says what."""


@dataclass(frozen=True)
class ClusterRef:
    """Identity of a cluster at the provider: the deployment's uid, plus names for humans."""

    uid: str
    namespace: str
    name: str


@dataclass(frozen=True)
class DesiredCluster:
    """What the provider is asked to build, rendered from the template and the config."""

    ref: ClusterRef
    kubernetes_version: str
    control_plane: v1alpha1.MachineGroup
    workers: v1alpha1.MachineGroup
    labels: dict[str, str] = field(default_factory=dict)
    #: The template's ``cluster.providerSpec``, rendered: the provider's own settings, which it
    #: validates (a bad one is a ProviderPermanentError naming the field).
    provider_spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedNode:
    name: str
    role: NodeRole
    kubernetes_version: str
    ready: bool
    machine_size: str


@dataclass(frozen=True)
class Observation:
    """What the provider sees now. ``message`` says what it is doing, for people."""

    ref: ClusterRef
    nodes: tuple[ObservedNode, ...]
    infrastructure_ready: bool
    endpoint: str | None = None
    message: str = ""

    def group(self, role: NodeRole) -> tuple[ObservedNode, ...]:
        return tuple(n for n in self.nodes if n.role == role)


@dataclass(frozen=True)
class Deletion:
    """Result of a delete call: ``gone`` once nothing is left; ``remaining`` says what is."""

    gone: bool
    remaining: tuple[str, ...] = ()


class Provider(Protocol):
    """A plug-in that builds clusters on one kind of infrastructure."""

    name: str

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation: ...

    async def delete_cluster(
        self, ref: ClusterRef, credential: v1alpha1.Credential
    ) -> Deletion: ...

    async def observe(
        self, ref: ClusterRef, credential: v1alpha1.Credential
    ) -> Observation | None: ...

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes: ...


@runtime_checkable
class ChecksProviderSpec(Protocol):
    """Optional, beside :class:`Provider`: a provider that can check a rendered providerSpec
    without building anything, so admission refuses a bad template or cluster at once, with
    each field's path. A provider without it finds a bad providerSpec when it builds (a
    ``ProviderPermanentError`` in the cluster's status)."""

    def check_provider_spec(self, spec: Mapping[str, Any]) -> list[Cause]: ...


@runtime_checkable
class ChecksCredentialConfig(Protocol):
    """Optional, beside :class:`Provider`: a provider that can check a Credential's
    ``spec.config`` (its non-secret settings), so admission refuses a bad credential at once
    rather than every cluster failing on it later."""

    def check_credential_config(self, config: Mapping[str, Any]) -> list[Cause]: ...


#: A provider's check of some of its settings, as admission calls it.
SpecCheck = Callable[[Mapping[str, Any]], list[Cause]]


@dataclass(frozen=True)
class SettingsChecks:
    """The installed providers' optional checks, by provider name, for admission
    (:meth:`orbit.providers.registry.ProviderRegistry.settings_checks`)."""

    provider_spec: Mapping[str, SpecCheck] = field(default_factory=dict)
    credential_config: Mapping[str, SpecCheck] = field(default_factory=dict)


def validated(model: type[M], data: Any, *, path: str, what: str) -> M:
    """``data`` validated as ``model``, or a ProviderPermanentError saying ``what`` is invalid
    and naming every bad field under ``path`` (``spec.cluster.providerSpec.hosts[0].address:
    ...``). Input values are never echoed: they may be secrets."""
    try:
        return model.model_validate(data or {})
    except ValidationError as err:
        causes = [f"{c.field}: {c.message}" for c in _causes(err, path)]
        raise ProviderPermanentError(f"{what} is invalid: {'; '.join(causes)}") from None


def spec_causes(model: type[BaseModel], data: Any, *, path: str = SPEC_PATH) -> list[Cause]:
    """What is wrong with ``data`` as ``model``, one cause per field under ``path`` (none when
    it is valid): a :meth:`ChecksProviderSpec.check_provider_spec` in one line."""
    try:
        model.model_validate(data or {})
    except ValidationError as err:
        return _causes(err, path)
    return []


def _causes(err: ValidationError, path: str) -> list[Cause]:
    causes = []
    for error in err.errors(include_input=False, include_url=False):
        where = path
        for part in error["loc"]:
            where += f"[{part}]" if isinstance(part, int) else f".{part}"
        causes.append(Cause(where, error["msg"]))
    return causes
