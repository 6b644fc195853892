"""Controllers: one package per kind, each a level-based reconciler run by orbit.runtime.

:func:`build_manager` wires every controller and background job of the Orbit Plane into one
:class:`~orbit.runtime.manager.Manager`, for the server and for tests alike.
"""

from __future__ import annotations

from datetime import timedelta

from orbit.api import v1alpha1
from orbit.config import Settings
from orbit.controllers.clusterdeployment import ClusterDeploymentReconciler
from orbit.providers.registry import ProviderRegistry
from orbit.runtime.controller import Controller
from orbit.runtime.events import EventRecorder, collect_events
from orbit.runtime.manager import Manager
from orbit.store.base import ResourceStore


def build_manager(store: ResourceStore, providers: ProviderRegistry, settings: Settings) -> Manager:
    ctl = settings.controllers
    manager = Manager(store=store)
    clusters = ClusterDeploymentReconciler(
        store,
        providers=providers,
        recorder=EventRecorder(store, component="clusterdeployment-controller"),
        poll_interval=ctl.poll_interval,
        ready_recheck=ctl.ready_recheck,
    )
    manager.add(
        Controller(
            "clusterdeployment",
            store=store,
            kind=v1alpha1.ClusterDeployment,
            reconciler=clusters,
            watches=clusters.watches(),
            workers=ctl.workers,
            resync_period=ctl.resync_period,
            base_delay=ctl.base_delay,
            max_delay=ctl.max_delay,
        )
    )
    ttl = timedelta(hours=settings.event_ttl_hours)

    async def collect() -> None:
        await collect_events(store, older_than=ttl)

    manager.add_runnable("event-collector", collect, interval=600.0)
    return manager
