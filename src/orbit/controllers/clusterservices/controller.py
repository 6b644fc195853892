"""Reconcile a ClusterDeployment's own ServiceSet from its template and spec.

The template resolves as the lifecycle controller resolves it: the cluster's namespace's own,
else the catalog namespace's (:func:`orbit.security.access.resolve`), so a cluster built from a
catalog template gets that template's base services."""

from __future__ import annotations

from orbit.api import v1alpha1
from orbit.controllers import servicesets
from orbit.errors import NotFound
from orbit.runtime import predicates
from orbit.runtime.controller import Request, Result, Watch
from orbit.security import access
from orbit.store.base import ResourceStore


def desired_services(
    template: v1alpha1.ClusterTemplate | None, cluster: v1alpha1.ClusterDeployment
) -> list[v1alpha1.Service]:
    """Base services first (in template order), then the cluster's own; a cluster entry of the
    same name replaces the base one, and ``disabled`` entries drop out."""
    own = {s.name: s for s in cluster.spec.services}
    merged = [own.pop(s.name, s) for s in (template.spec.services if template else [])]
    merged += own.values()
    enabled = [s for s in merged if not s.disabled]
    names = {s.name for s in enabled}
    # a disabled service cannot be depended on: drop dangling dependencies rather than fail
    return [
        s.model_copy(update={"depends_on": [d for d in s.depends_on if d in names]})
        for s in enabled
    ]


class ClusterServicesReconciler:
    def __init__(self, store: ResourceStore, *, catalog_namespace: str = "default") -> None:
        self._store = store
        self._catalog = catalog_namespace

    def watches(self) -> list[Watch]:
        """A ClusterTemplate's base services changing reaches its clusters via resync; its
        ServiceSet changing is noticed here so a hand-deleted set is put back."""
        return [
            Watch(v1alpha1.ServiceSet, self._map_set, predicate=predicates.generation_changed())
        ]

    @staticmethod
    def _map_set(obj: v1alpha1.Resource) -> list[Request]:
        labels = obj.metadata.labels
        if labels.get(v1alpha1.LABEL_OWNER_KIND) != v1alpha1.ClusterDeployment.KIND:
            return []
        name = labels.get(v1alpha1.LABEL_OWNER_NAME, "")
        return [Request(v1alpha1.ClusterDeployment.KIND, obj.metadata.namespace or "", name)]

    async def reconcile(self, request: Request) -> Result:
        owner = v1alpha1.OwnerRef(kind=v1alpha1.ClusterDeployment.KIND, name=request.name)
        try:
            cluster = await self._store.get(
                v1alpha1.ClusterDeployment, request.namespace, request.name
            )
        except NotFound:
            cluster = None
        if cluster is None or cluster.metadata.deletion_timestamp is not None:
            for sset in await servicesets.owned(self._store, request.namespace, owner):
                await servicesets.remove_serviceset(self._store, sset)
            return Result()
        try:
            template = await access.resolve(
                self._store,
                v1alpha1.ClusterTemplate,
                request.namespace,
                cluster.spec.template,
                catalog_namespace=self._catalog,
            )
        except NotFound:  # the lifecycle controller reports it; keep what was delivered
            return Result(requeue_after=30.0)
        services = desired_services(template, cluster)
        if not services:
            for sset in await servicesets.owned(self._store, request.namespace, owner):
                await servicesets.remove_serviceset(self._store, sset)
            return Result()
        await servicesets.apply_serviceset(
            self._store,
            namespace=request.namespace,
            cluster=cluster.metadata.name,
            owner=owner,
            services=services,
        )
        return Result()
