"""Controllers: one package per kind, each a level-based reconciler run by orbit.runtime.

:func:`build_manager` wires every controller and background job of the Orbit Plane into one
:class:`~orbit.runtime.manager.Manager`, for the server and for tests alike.
"""

from __future__ import annotations

from datetime import timedelta

from orbit.api import v1alpha1
from orbit.config import Settings
from orbit.controllers.clusterdeployment import ClusterDeploymentReconciler
from orbit.controllers.clusterservices import ClusterServicesReconciler
from orbit.controllers.credential import CredentialReconciler
from orbit.controllers.multiclusterservice import MultiClusterServiceReconciler
from orbit.controllers.serviceset import ServiceSetReconciler, cluster_clients
from orbit.controllers.servicetemplate import ServiceTemplateReconciler
from orbit.delivery import engine
from orbit.delivery.kubeclient import ClusterClients
from orbit.delivery.render import render_service
from orbit.providers.registry import ProviderRegistry
from orbit.runtime import predicates
from orbit.runtime.cache import CachedStore
from orbit.runtime.controller import Controller, Reconciler, Watch
from orbit.runtime.events import EventRecorder, collect_events
from orbit.runtime.manager import Manager
from orbit.runtime.predicates import Predicate
from orbit.runtime.sharding import ShardMember
from orbit.store.base import ResourceStore


def build_manager(
    store: ResourceStore,
    providers: ProviderRegistry,
    settings: Settings,
    *,
    clients: ClusterClients | None = None,
    shards: ShardMember | None = None,
) -> Manager:
    """Every controller of the Orbit Plane. ``clients`` are the Kubernetes API clients the
    delivery engine uses; the caller closes them after the manager stops. ``shards``: this
    process's shard leases when several controller processes share the store (each key is
    reconciled by its shard's holder; jobs over every key run on the holder of shard 0)."""
    ctl = settings.controllers
    catalog = settings.security.catalog_namespace
    manager = Manager(store=store)
    # Reconcilers read through an informer cache; the controllers' feeds and lists, and every
    # write, go to the store.
    reads = CachedStore(
        store,
        (
            v1alpha1.ClusterTemplate,
            v1alpha1.Credential,
            v1alpha1.ClusterDeployment,
            v1alpha1.ServiceTemplate,
            v1alpha1.ServiceSet,
            v1alpha1.MultiClusterService,
        ),
    )

    def controller(
        name: str,
        kind: type[v1alpha1.Resource],
        reconciler: Reconciler,
        watches: list[Watch],
        *,
        predicate: Predicate | None = None,
    ) -> None:
        manager.add(
            Controller(
                name,
                store=store,
                kind=kind,
                reconciler=reconciler,
                watches=watches,
                workers=ctl.workers,
                resync_period=ctl.resync_period,
                base_delay=ctl.base_delay,
                max_delay=ctl.max_delay,
                shards=shards,
                predicate=predicate,
            )
        )

    def recorder(component: str) -> EventRecorder:
        return EventRecorder(reads, component=f"{component}-controller")

    clusters = ClusterDeploymentReconciler(
        reads,
        providers=providers,
        recorder=recorder("clusterdeployment"),
        poll_interval=ctl.poll_interval,
        ready_recheck=ctl.ready_recheck,
        ready_recheck_rate=ctl.ready_recheck_rate,
        catalog_namespace=catalog,
        shards=shards,
    )
    # Each controller writes its kind's status: its own status writes need no second pass.
    controller(
        "clusterdeployment",
        v1alpha1.ClusterDeployment,
        clusters,
        clusters.watches(),
        predicate=predicates.generation_changed(),
    )
    controller(
        "credential", v1alpha1.Credential, CredentialReconciler(reads, providers=providers), []
    )
    cluster_services = ClusterServicesReconciler(reads, catalog_namespace=catalog)
    controller(
        "clusterservices",
        v1alpha1.ClusterDeployment,
        cluster_services,
        cluster_services.watches(),
        predicate=predicates.generation_changed(),  # it reads the cluster's spec only
    )
    rollouts = MultiClusterServiceReconciler(
        reads, recorder=recorder("multiclusterservice"), poll_interval=ctl.poll_interval
    )
    controller("multiclusterservice", v1alpha1.MultiClusterService, rollouts, rollouts.watches())
    cache_dir = settings.data_dir / "cache"
    templates = ServiceTemplateReconciler(
        reads, cache_dir=cache_dir, recorder=recorder("servicetemplate")
    )
    controller("servicetemplate", v1alpha1.ServiceTemplate, templates, [])
    delivery = ServiceSetReconciler(
        reads,
        clients=clients or cluster_clients(providers),
        recorder=recorder("serviceset"),
        cache_dir=cache_dir,
        render=render_service,
        applier=engine,
        drift_interval=settings.delivery.drift_interval,
        poll_interval=ctl.poll_interval,
        catalog_namespace=catalog,
    )
    controller("serviceset", v1alpha1.ServiceSet, delivery, delivery.watches())
    ttl = timedelta(hours=settings.event_ttl_hours)

    async def collect() -> None:
        if shards is None or shards.owns_shard(0):
            await collect_events(store, older_than=ttl)

    manager.add_runnable("event-collector", collect, interval=600.0)
    return manager
