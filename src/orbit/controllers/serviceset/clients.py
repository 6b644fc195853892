"""Kubernetes clients for the ServiceSet controller, from each cluster's provider.

``orbit.delivery`` sits beside ``orbit.providers`` and may not import it, so the provider
lookup lives here: :func:`provider_kubeconfig` asks the cluster's provider (chosen by its
credential) for a kubeconfig and turns provider errors into delivery errors.
"""

from __future__ import annotations

from orbit import errors
from orbit.api import v1alpha1
from orbit.delivery.kubeclient import (
    DEFAULT_TIMEOUT,
    UNREACHABLE,
    ClusterClients,
    DeliveryError,
    KubeconfigLoader,
)
from orbit.providers import base
from orbit.providers.registry import ProviderRegistry


def provider_kubeconfig(providers: ProviderRegistry) -> KubeconfigLoader:
    """A loader fetching a cluster's kubeconfig from the provider its credential names."""

    async def load(cluster: v1alpha1.ClusterDeployment, credential: v1alpha1.Credential) -> bytes:
        meta = cluster.metadata
        ref = base.ClusterRef(uid=meta.uid or "", namespace=meta.namespace or "", name=meta.name)
        try:
            provider = providers.get(credential.spec.provider)
        except KeyError as exc:
            raise DeliveryError("ProviderUnknown", str(exc)) from exc
        try:
            return await provider.kubeconfig(ref, credential)
        except errors.NotFound as exc:
            raise DeliveryError(UNREACHABLE, f"cluster not found: {exc}", transient=True) from exc
        except base.ProviderTransientError as exc:
            raise DeliveryError(UNREACHABLE, str(exc), transient=True) from exc
        except base.ProviderError as exc:
            raise DeliveryError("KubeconfigUnavailable", str(exc)) from exc

    return load


def cluster_clients(
    providers: ProviderRegistry, *, timeout: float = DEFAULT_TIMEOUT
) -> ClusterClients:
    """Clients per cluster, from the providers' kubeconfigs."""
    return ClusterClients(provider_kubeconfig(providers), timeout=timeout)
