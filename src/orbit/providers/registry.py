"""The provider registry: providers by name, built in or loaded as plug-ins.

Plug-ins are ``importlib.metadata`` entry points in group ``orbit.providers``; each names a
zero-argument callable that returns a Provider. A plug-in that fails to load is logged and
skipped: one broken package must not keep Orbit from managing the clusters of the others.
Providers that need wiring (``sim`` needs its plane) are registered by the composition root.

Secrets: a provider never sees the vault. When the registry is given ``secrets`` (an opener the
composition root builds over the vault), :meth:`ProviderRegistry.get` hands out the provider
wrapped so that every call receives the credential with ``spec.secretData`` filled in from its
sealed values (only when ``spec.secretKeys`` says it holds some). The filled copy lives for one
call; it is never written back, and ``secretData`` has no repr, so it does not reach a log.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Awaitable, Callable, Iterable

from orbit.api import v1alpha1
from orbit.providers.base import (
    ChecksCredentialConfig,
    ChecksProviderSpec,
    ClusterRef,
    Deletion,
    DesiredCluster,
    Observation,
    Provider,
    SettingsChecks,
    SpecCheck,
)

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "orbit.providers"
_METHODS = ("ensure_cluster", "delete_cluster", "observe", "kubeconfig")

#: Opens a credential's sealed secret values, by name.
SecretOpener = Callable[[v1alpha1.Credential], Awaitable[dict[str, str]]]


class UnknownProvider(KeyError):
    """No provider has that name; the message lists the ones that exist."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = sorted(known)

    def __str__(self) -> str:
        known = ", ".join(self.known) if self.known else "none are registered"
        return f'unknown provider "{self.name}"; known providers: {known}'


class ProviderRegistry:
    """Providers by name."""

    def __init__(
        self, providers: Iterable[Provider] = (), *, secrets: SecretOpener | None = None
    ) -> None:
        self._providers: dict[str, Provider] = {}
        self._secrets = secrets
        for provider in providers:
            self.register(provider)

    def register(self, provider: Provider, *, replace: bool = False) -> None:
        """Add ``provider``; a second one with the same name is an error unless ``replace``."""
        _check(provider)
        if provider.name in self._providers and not replace:
            raise ValueError(f'a provider named "{provider.name}" is already registered')
        self._providers[provider.name] = provider

    def get(self, name: str) -> Provider:
        """The provider called ``name`` (given its credentials' secrets when configured)."""
        try:
            provider = self._providers[name]
        except KeyError:
            raise UnknownProvider(name, self._providers) from None
        return provider if self._secrets is None else _WithSecrets(provider, self._secrets)

    def names(self) -> list[str]:
        return sorted(self._providers)

    def settings_checks(self) -> SettingsChecks:
        """The providerSpec and credential config checks of the providers that have them."""
        specs: dict[str, SpecCheck] = {}
        configs: dict[str, SpecCheck] = {}
        for name, provider in self._providers.items():
            if isinstance(provider, ChecksProviderSpec):
                specs[name] = provider.check_provider_spec
            if isinstance(provider, ChecksCredentialConfig):
                configs[name] = provider.check_credential_config
        return SettingsChecks(provider_spec=specs, credential_config=configs)

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Load plug-ins from entry points; returns the names registered. Never raises."""
        loaded: list[str] = []
        for entry in importlib.metadata.entry_points(group=group):
            try:
                provider = entry.load()()
                _check(provider)
            except Exception:
                log.exception("Skipping provider plug-in %s (%s)", entry.name, entry.value)
                continue
            if provider.name in self._providers:
                log.warning(
                    "Skipping provider plug-in %s: a provider named %r is already registered",
                    entry.name,
                    provider.name,
                )
                continue
            log.info("Loaded provider plug-in %s as %r", entry.name, provider.name)
            self._providers[provider.name] = provider
            loaded.append(provider.name)
        return loaded


def _check(provider: object) -> None:
    """Fail early, with a useful message, on an object that is not a Provider."""
    name = getattr(provider, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{provider!r} is not a provider: it needs a non-empty str 'name'")
    missing = [m for m in _METHODS if not callable(getattr(provider, m, None))]
    if missing:
        raise TypeError(f"provider {name!r} lacks {', '.join(missing)}")


class _WithSecrets:
    """``provider``, called with credentials whose ``secretData`` holds their opened values."""

    def __init__(self, provider: Provider, secrets: SecretOpener) -> None:
        self.name = provider.name
        self.provider = provider
        self._secrets = secrets

    async def _open(self, credential: v1alpha1.Credential) -> v1alpha1.Credential:
        if not credential.spec.secret_keys or credential.spec.secret_data is not None:
            return credential
        values: dict[str, str | None] = dict(await self._secrets(credential))
        spec = credential.spec.model_copy(update={"secret_data": values})
        return credential.model_copy(update={"spec": spec})

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation:
        return await self.provider.ensure_cluster(cluster, await self._open(credential))

    async def delete_cluster(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Deletion:
        return await self.provider.delete_cluster(ref, await self._open(credential))

    async def observe(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Observation | None:
        return await self.provider.observe(ref, await self._open(credential))

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        return await self.provider.kubeconfig(ref, await self._open(credential))
