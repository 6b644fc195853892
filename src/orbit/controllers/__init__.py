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
from orbit.runtime.controller import Controller, Reconciler, Watch
from orbit.runtime.events import EventRecorder, collect_events
from orbit.runtime.manager import Manager
from orbit.store.base import ResourceStore


def build_manager(
    store: ResourceStore,
    providers: ProviderRegistry,
    settings: Settings,
    *,
    clients: ClusterClients | None = None,
) -> Manager:
    """Every controller of the Orbit Plane. ``clients`` are the Kubernetes API clients the
    delivery engine uses; the caller closes them after the manager stops."""
    ctl = settings.controllers
    catalog = settings.security.catalog_namespace
    manager = Manager(store=store)

    def controller(
        name: str, kind: type[v1alpha1.Resource], reconciler: Reconciler, watches: list[Watch]
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
            )
        )

    def recorder(component: str) -> EventRecorder:
        return EventRecorder(store, component=f"{component}-controller")

    clusters = ClusterDeploymentReconciler(
        store,
        providers=providers,
        recorder=recorder("clusterdeployment"),
        poll_interval=ctl.poll_interval,
        ready_recheck=ctl.ready_recheck,
        catalog_namespace=catalog,
    )
    controller("clusterdeployment", v1alpha1.ClusterDeployment, clusters, clusters.watches())
    controller(
        "credential", v1alpha1.Credential, CredentialReconciler(store, providers=providers), []
    )
    cluster_services = ClusterServicesReconciler(store, catalog_namespace=catalog)
    controller(
        "clusterservices",
        v1alpha1.ClusterDeployment,
        cluster_services,
        cluster_services.watches(),
    )
    rollouts = MultiClusterServiceReconciler(
        store, recorder=recorder("multiclusterservice"), poll_interval=ctl.poll_interval
    )
    controller("multiclusterservice", v1alpha1.MultiClusterService, rollouts, rollouts.watches())
    cache_dir = settings.data_dir / "cache"
    templates = ServiceTemplateReconciler(
        store, cache_dir=cache_dir, recorder=recorder("servicetemplate")
    )
    controller("servicetemplate", v1alpha1.ServiceTemplate, templates, [])
    delivery = ServiceSetReconciler(
        store,
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
        await collect_events(store, older_than=ttl)

    manager.add_runnable("event-collector", collect, interval=600.0)
    return manager
