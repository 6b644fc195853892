"""ServiceSets as their owners see them: naming, create-or-update, removal, and the one-word
summary of a set's state that MultiClusterService status and the CLI group by.

A ServiceSet is owned by exactly one ClusterDeployment or MultiClusterService (labels say which)
and targets one cluster; the ServiceSet controller does the delivery.
"""

from __future__ import annotations

import contextlib
from collections import Counter

from orbit.api import selectors, v1alpha1
from orbit.api.v1alpha1 import ServiceState
from orbit.errors import AlreadyExists, NotFound
from orbit.runtime.cache import list_shared
from orbit.store.base import ResourceStore

REVISION = "orbit.k8or.io/revision"
_SHORT = {"ClusterDeployment": "cluster", "MultiClusterService": "mcs"}


def serviceset_name(cluster: str, owner: v1alpha1.OwnerRef) -> str:
    """``<cluster>-cluster`` for a cluster's own services, ``<cluster>-mcs-<name>`` otherwise."""
    short = _SHORT[owner.kind]
    if owner.kind == "ClusterDeployment":
        return f"{cluster}-{short}"[:253]
    return f"{cluster}-{short}-{owner.name}"[:253].rstrip("-.")


def owned_selector(owner: v1alpha1.OwnerRef) -> str:
    return f"{v1alpha1.LABEL_OWNER_KIND}={owner.kind},{v1alpha1.LABEL_OWNER_NAME}={owner.name}"


async def owned(
    store: ResourceStore, namespace: str, owner: v1alpha1.OwnerRef
) -> list[v1alpha1.ServiceSet]:
    """The ServiceSets ``owner`` made, shared with the cache: read them, never change one
    (:func:`~orbit.runtime.cache.list_shared`)."""
    return await list_shared(
        store, v1alpha1.ServiceSet, namespace, selector=selectors.parse(owned_selector(owner))
    )


async def apply_serviceset(
    store: ResourceStore,
    *,
    namespace: str,
    cluster: str,
    owner: v1alpha1.OwnerRef,
    services: list[v1alpha1.Service],
    revision: int | None = None,
) -> v1alpha1.ServiceSet:
    """Create the owner's ServiceSet for ``cluster``, or bring its spec up to date."""
    name = serviceset_name(cluster, owner)
    labels = {
        v1alpha1.LABEL_CLUSTER: cluster,
        v1alpha1.LABEL_OWNER_KIND: owner.kind,
        v1alpha1.LABEL_OWNER_NAME: owner.name,
    }
    annotations = {REVISION: str(revision)} if revision is not None else {}
    spec = v1alpha1.ServiceSetSpec(cluster=cluster, owner=owner, services=services)
    try:
        current = await store.get(v1alpha1.ServiceSet, namespace, name)
    except NotFound:
        obj = v1alpha1.ServiceSet(
            metadata=v1alpha1.ObjectMeta(
                name=name, namespace=namespace, labels=labels, annotations=annotations
            ),
            spec=spec,
        )
        try:
            return await store.create(obj)
        except AlreadyExists:
            current = await store.get(v1alpha1.ServiceSet, namespace, name)
    if current.spec == spec and all(
        current.metadata.annotations.get(k) == v for k, v in annotations.items()
    ):
        return current
    current.spec = spec
    current.metadata.labels.update(labels)
    current.metadata.annotations.update(annotations)
    return await store.update(current)  # carries its resourceVersion: a stale read is a retry


async def remove_serviceset(store: ResourceStore, sset: v1alpha1.ServiceSet) -> None:
    if sset.metadata.deletion_timestamp is None:
        with contextlib.suppress(NotFound):
            await store.delete(v1alpha1.ServiceSet, sset.metadata.namespace, sset.metadata.name)


def revision_of(sset: v1alpha1.ServiceSet) -> int | None:
    value = sset.metadata.annotations.get(REVISION)
    return int(value) if value and value.isdigit() else None


def settled(sset: v1alpha1.ServiceSet) -> bool:
    """Whether the set's status describes its current spec."""
    return sset.status.observed_generation == sset.metadata.generation


def summarize(sset: v1alpha1.ServiceSet) -> tuple[str, str]:
    """(state, reason) of a whole set: Failed > Drifted > Deploying/Pending > Deployed."""
    if not settled(sset):
        return ServiceState.PENDING.value, "Waiting for delivery"
    services = sset.status.services
    if not services:
        return (
            (ServiceState.DEPLOYED.value, "")
            if not sset.spec.services
            else (ServiceState.PENDING.value, "Waiting for delivery")
        )
    for state in (
        ServiceState.FAILED,
        ServiceState.DRIFTED,
        ServiceState.DEPLOYING,
        ServiceState.PENDING,
        ServiceState.DELETING,
    ):
        hit = [s for s in services if s.state == state]
        if hit:
            return state.value, hit[0].reason or hit[0].message
    if all(s.healthy for s in services):
        return ServiceState.DEPLOYED.value, ""
    return ServiceState.DEPLOYING.value, "Not healthy yet"


def summary_line(states: list[tuple[str, str]]) -> str:
    """``18/20 deployed; 2 failed: Unschedulable (2)``: counts, and reasons grouped."""
    total = len(states)
    if not total:
        return "no matching clusters"
    deployed = sum(1 for s, _ in states if s == ServiceState.DEPLOYED)
    parts = [f"{deployed}/{total} deployed"]
    for state in (
        ServiceState.FAILED,
        ServiceState.DRIFTED,
        ServiceState.DEPLOYING,
        ServiceState.PENDING,
        ServiceState.DELETING,
    ):
        reasons = Counter(r or "Unknown" for s, r in states if s == state)
        if reasons:
            grouped = ", ".join(f"{r} ({n})" for r, n in reasons.most_common())
            parts.append(f"{sum(reasons.values())} {state.value.lower()}: {grouped}")
    return "; ".join(parts)
