"""Where the AccessPoint gets a cluster's admin kubeconfig: the sealed copy the secrets layer
keeps (:func:`orbit.security.secrets.cluster_kubeconfig`), else the cluster's provider (chosen
by its credential, resolved as the controllers resolve it, catalog namespace included).

The pool asks once per cluster and process, and again with ``refresh`` after it retired a
client (the cluster refused the credential, or its endpoint stopped answering), so a rotated
credential or a moved endpoint replaces the cached copy.

A cluster the provider has no infrastructure for yet answers 503 with its phase: the caller
may retry once it is Ready.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers import base
from orbit.providers.registry import ProviderRegistry
from orbit.security import access, secrets
from orbit.server.accesspoint.upstreams import KubeconfigLoader
from orbit.store.base import ResourceStore

Fetch = Callable[[], Awaitable[bytes]]


def provider_fetch(
    store: ResourceStore,
    providers: ProviderRegistry | None,
    cluster: v1alpha1.ClusterDeployment,
    *,
    catalog_namespace: str,
) -> Fetch:
    """Fetches ``cluster``'s kubeconfig from its provider; orbit errors for the caller."""
    meta = cluster.metadata
    namespace = meta.namespace or ""

    async def fetch() -> bytes:
        if providers is None:
            raise errors.Unavailable("no provider is configured in this server")
        try:
            credential = await access.resolve(
                store,
                v1alpha1.Credential,
                namespace,
                cluster.spec.credential,
                catalog_namespace=catalog_namespace,
            )
        except errors.NotFound as exc:
            raise errors.Unavailable(
                f'cluster "{meta.name}" cannot be reached: {exc.message}'
            ) from None
        try:
            provider = providers.get(credential.spec.provider)
        except KeyError:
            raise errors.Unavailable(
                f"provider {credential.spec.provider!r} is not installed in this Orbit"
            ) from None
        ref = base.ClusterRef(uid=meta.uid or "", namespace=namespace, name=meta.name)
        try:
            return await provider.kubeconfig(ref, credential)
        except errors.NotFound:
            raise not_provisioned(cluster) from None
        except base.ProviderError as exc:
            raise errors.Unavailable(
                f'the provider of cluster "{meta.name}" cannot give its API endpoint now: {exc}'
            ) from None

    return fetch


def not_provisioned(cluster: v1alpha1.ClusterDeployment) -> errors.Unavailable:
    return errors.Unavailable(
        f'cluster "{cluster.metadata.name}" has no Kubernetes API yet (phase '
        f"{cluster.status.phase.value}): try again when it is Ready",
        kind=v1alpha1.ClusterDeployment.KIND,
        name=cluster.metadata.name,
    )


def loader(
    store: ResourceStore,
    vault: secrets.SecretVault | None,
    providers: ProviderRegistry | None,
    cluster: v1alpha1.ClusterDeployment,
    *,
    catalog_namespace: str,
) -> KubeconfigLoader:
    """The pool's loader for ``cluster``: the sealed cache, filled from the provider."""
    fetch = provider_fetch(store, providers, cluster, catalog_namespace=catalog_namespace)

    async def load(refresh: bool) -> bytes:
        return await secrets.cluster_kubeconfig(store, vault, cluster, fetch, refresh=refresh)

    return load
