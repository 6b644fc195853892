"""The ``sim`` provider: drives the simulated Cluster Plane through the provider contract.

It translates both ways and keeps nothing: a DesiredCluster becomes a SimClusterSpec (the
credential's ``config.nodeQuota`` becomes the plane's node quota), the plane's view becomes an
Observation, and the plane's faults become provider errors (transient -> retry, permanent ->
tell the user). Like httpx's MockTransport, it ships in the product: it is the embedded default
and the engine of every scale test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    Deletion,
    DesiredCluster,
    Observation,
    ObservedNode,
    ProviderPermanentError,
    ProviderTransientError,
)
from orbit.simplane import (
    SimCluster,
    SimClusterSpec,
    SimPermanentFault,
    SimPlane,
    SimTransientFault,
)

NAME = "sim"
QUOTA_KEY = "nodeQuota"


class SimProvider:
    """Provider ``sim`` over one :class:`SimPlane`."""

    name: str = NAME

    def __init__(self, plane: SimPlane) -> None:
        self._plane = plane

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation:
        spec = to_spec(cluster, credential)
        with _translated():
            state = await self._plane.ensure_cluster(spec)
        return to_observation(state)

    async def delete_cluster(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Deletion:
        _check_credential(credential)
        with _translated():
            deletion = await self._plane.delete_cluster(ref.uid)
        return Deletion(gone=deletion.gone, remaining=tuple(deletion.remaining))

    async def observe(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Observation | None:
        _check_credential(credential)
        with _translated():
            state = await self._plane.get_cluster(ref.uid)
        return None if state is None else to_observation(state)

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        """The cluster's kubeconfig; raises :class:`orbit.errors.NotFound` if it does not exist."""
        _check_credential(credential)
        with _translated():
            return await self._plane.kubeconfig(ref.uid)


def to_spec(cluster: DesiredCluster, credential: v1alpha1.Credential) -> SimClusterSpec:
    """The plane's request for ``cluster``, with the credential's node quota."""
    _check_credential(credential)
    return SimClusterSpec(
        uid=cluster.ref.uid,
        namespace=cluster.ref.namespace,
        name=cluster.ref.name,
        kubernetes_version=cluster.kubernetes_version,
        control_plane_count=cluster.control_plane.count,
        control_plane_size=cluster.control_plane.machine_size,
        worker_count=cluster.workers.count,
        worker_size=cluster.workers.machine_size,
        labels=dict(cluster.labels),
        max_nodes=node_quota(credential),
    )


def to_observation(state: SimCluster) -> Observation:
    return Observation(
        ref=ClusterRef(uid=state.uid, namespace=state.namespace, name=state.name),
        nodes=tuple(
            ObservedNode(
                name=n.name,
                role=n.role,
                kubernetes_version=n.kubernetes_version,
                ready=n.ready,
                machine_size=n.machine_size,
            )
            for n in state.nodes
        ),
        infrastructure_ready=state.phase != "deleting",
        endpoint=state.endpoint,
        message=state.message,
    )


def node_quota(credential: v1alpha1.Credential) -> int | None:
    """``config.nodeQuota`` as a whole number of nodes, or None when unset."""
    value: Any = credential.spec.config.get(QUOTA_KEY)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProviderPermanentError(
            f'credential "{credential.metadata.name}": config.{QUOTA_KEY} must be a whole '
            f"number of nodes, got {value!r}"
        )
    return value


def _check_credential(credential: v1alpha1.Credential) -> None:
    if credential.spec.provider != NAME:
        raise ProviderPermanentError(
            f'credential "{credential.metadata.name}" is for provider '
            f'"{credential.spec.provider}", not "{NAME}"'
        )


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except SimTransientFault as fault:
        raise ProviderTransientError(str(fault)) from fault
    except SimPermanentFault as fault:
        raise ProviderPermanentError(str(fault)) from fault
