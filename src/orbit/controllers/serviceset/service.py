"""One service of a ServiceSet on one pass: render, compare hashes, apply, observe, correct.

:class:`ServiceSync` turns the service's previous status into its new one and the Events that
explain the change; it never writes the store. Its collaborators are protocols so the state
machine is tested with a fake renderer and applier: :data:`Renderer` is
:func:`orbit.delivery.render.render_service`, :class:`Applier` is the
:mod:`orbit.delivery.engine` module, :class:`Clients` is
:class:`orbit.delivery.kubeclient.ClusterClients`. A service's template resolves in the set's
namespace, else in the catalog namespace (:func:`orbit.security.access.resolve`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ServiceState, SyncMode
from orbit.controllers.serviceset import status as st
from orbit.delivery import health as health_
from orbit.delivery import inventory as inv
from orbit.delivery.engine import ApplyError, DeliveryResult, Observation
from orbit.delivery.kubeclient import DeliveryError, KubeClient
from orbit.delivery.render import ClusterContext, RenderError, SourceUnavailable
from orbit.errors import NotFound
from orbit.security import access
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.controllers.serviceset")

EventType = st.EventType


class Renderer(Protocol):
    async def __call__(
        self,
        template: v1alpha1.ServiceTemplate,
        *,
        values: dict[str, Any],
        cluster: ClusterContext,
        namespace: str,
        cache_dir: Path,
        release: str | None = None,
    ) -> list[dict[str, Any]]: ...


class Applier(Protocol):
    async def prepare(
        self,
        client: KubeClient,
        manifests: Sequence[Mapping[str, Any]],
        *,
        set_name: str,
        service: v1alpha1.Service,
    ) -> list[dict[str, Any]]: ...

    async def deliver(
        self,
        client: KubeClient,
        *,
        set_name: str,
        service: v1alpha1.Service,
        manifests: list[dict[str, Any]],
        previous: list[v1alpha1.InventoryItem],
        force: bool = False,
    ) -> DeliveryResult: ...

    async def observe(
        self,
        client: KubeClient,
        inventory: Sequence[v1alpha1.InventoryItem],
        *,
        applied: Sequence[Mapping[str, Any]] | None = None,
    ) -> Observation: ...

    async def remove(
        self,
        client: KubeClient,
        *,
        set_name: str,
        inventory: Sequence[v1alpha1.InventoryItem],
    ) -> list[v1alpha1.InventoryItem]: ...


class Clients(Protocol):
    async def get(
        self, cluster: v1alpha1.ClusterDeployment, credential: v1alpha1.Credential
    ) -> KubeClient: ...

    async def invalidate(self, uid: str) -> None: ...


@dataclass
class Outcome:
    """A service's new status, the Events to record, and the delivery error met, if any."""

    status: v1alpha1.ServiceStatus
    events: list[tuple[EventType, str, str]] = field(default_factory=list)
    error: DeliveryError | None = None


class _Unavailable(Exception):
    """The service's manifests cannot be had (no template, it does not render, its source is
    unreachable): the service is Failed with ``reason``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _by_health(base: v1alpha1.ServiceStatus, verdict: health_.Health) -> v1alpha1.ServiceStatus:
    if verdict.healthy:
        return st.with_state(base, ServiceState.DEPLOYED, healthy=True)
    return st.with_state(
        base, ServiceState.DEPLOYING, verdict.reason, verdict.message, healthy=False
    )


def _failed(
    base: v1alpha1.ServiceStatus, reason: str, message: str, **changes: object
) -> v1alpha1.ServiceStatus:
    return st.with_state(base, ServiceState.FAILED, reason, message, healthy=False, **changes)


class ServiceSync:
    def __init__(
        self,
        store: ResourceStore,
        *,
        render: Renderer,
        applier: Applier,
        cache_dir: Path,
        catalog_namespace: str = "default",
    ) -> None:
        self._store = store
        self._catalog = catalog_namespace
        self._render = render
        self._applier = applier
        self._cache_dir = cache_dir

    async def run(
        self,
        client: KubeClient,
        *,
        sset: v1alpha1.ServiceSet,
        cluster: v1alpha1.ClusterDeployment,
        service: v1alpha1.Service,
        previous: v1alpha1.ServiceStatus | None,
        done: Mapping[str, v1alpha1.ServiceStatus],
    ) -> Outcome:
        """The new status of ``service``; ``done`` holds this pass's statuses of the services
        before it in dependency order."""
        base = (previous or st.initial(service)).model_copy(
            update={"namespace": service.namespace, "sync_mode": service.sync_mode}
        )
        outcome = Outcome(status=base)
        try:
            outcome.status = await self._run(client, outcome, sset, cluster, service, base, done)
        except DeliveryError as err:
            outcome.error = err
            if isinstance(err, ApplyError):  # keep what was applied: a later prune finds it
                base = base.model_copy(update={"inventory": err.inventory})
            if err.transient:
                # Keep the state (the objects are as they were); say why we could not look.
                outcome.status = st.with_state(base, base.state, err.reason, err.message)
            else:
                outcome.status = _failed(base, err.reason, err.message)
        return outcome

    async def _run(
        self,
        client: KubeClient,
        outcome: Outcome,
        sset: v1alpha1.ServiceSet,
        cluster: v1alpha1.ClusterDeployment,
        service: v1alpha1.Service,
        base: v1alpha1.ServiceStatus,
        done: Mapping[str, v1alpha1.ServiceStatus],
    ) -> v1alpha1.ServiceStatus:
        set_name = sset.metadata.name
        if service.sync_mode == SyncMode.ONE_TIME and base.applied_hash is not None:
            if base.state == ServiceState.DEPLOYED:
                return base  # applied once and healthy once: left alone from now on
            observed = await self._applier.observe(client, base.inventory)
            return _by_health(base, observed.health)

        try:
            manifests = await self._manifests(sset, cluster, service)
        except _Unavailable as why:
            return _failed(base, why.reason, why.message)
        desired = inv.desired_hash(service.template, manifests)

        if base.applied_hash != desired:
            blocked = st.blocking_dependency(service, dict(done))
            if blocked is not None:
                return st.with_state(
                    base, ServiceState.PENDING, st.WAITING_FOR_DEPENDENCY, blocked[1]
                )
            return await self._apply(client, set_name, service, base, manifests, desired)

        prepared = await self._applier.prepare(
            client, manifests, set_name=set_name, service=service
        )
        observed = await self._applier.observe(client, base.inventory, applied=prepared)
        if not observed.drift:
            return _by_health(base, observed.health)
        reason, message = st.drift_summary(observed.drift)
        if service.sync_mode == SyncMode.CONTINUOUS_WITH_DRIFT_DETECTION:
            log.info("Correcting drift of %s/%s: %s", set_name, service.name, message)
            corrected = await self._apply(
                client, set_name, service, base, manifests, desired, force=True
            )
            outcome.events.append(
                ("Warning", "DriftCorrected", f"Service {service.name}: restored {message}")
            )
            return corrected
        return st.with_state(
            base, ServiceState.DRIFTED, reason, message, healthy=observed.health.healthy
        )

    async def _manifests(
        self,
        sset: v1alpha1.ServiceSet,
        cluster: v1alpha1.ClusterDeployment,
        service: v1alpha1.Service,
    ) -> list[dict[str, Any]]:
        """The rendered manifests; :class:`_Unavailable` says why there are none."""
        try:
            template = await access.resolve(
                self._store,
                v1alpha1.ServiceTemplate,
                sset.metadata.namespace or "",
                service.template,
                catalog_namespace=self._catalog,
            )
        except NotFound:
            raise _Unavailable(
                st.TEMPLATE_NOT_FOUND, f"ServiceTemplate {service.template!r} not found"
            ) from None
        context = ClusterContext(
            name=cluster.metadata.name,
            namespace=cluster.metadata.namespace or "",
            labels=dict(cluster.metadata.labels),
            config=dict(cluster.spec.config),
        )
        try:
            return await self._render(
                template,
                values=dict(service.values),
                cluster=context,
                namespace=service.namespace,
                cache_dir=self._cache_dir,
                release=service.name,
            )
        except RenderError as err:
            message = f"template {service.template} does not render: {err.describe()}"
            raise _Unavailable(st.RENDER_FAILED, message) from err
        except SourceUnavailable as err:
            raise _Unavailable(st.SOURCE_UNAVAILABLE, str(err)) from err

    async def _apply(
        self,
        client: KubeClient,
        set_name: str,
        service: v1alpha1.Service,
        base: v1alpha1.ServiceStatus,
        manifests: list[dict[str, Any]],
        desired: str,
        *,
        force: bool = False,
    ) -> v1alpha1.ServiceStatus:
        log.info("Applying service %s of set %s", service.name, set_name)
        result = await self._applier.deliver(
            client,
            set_name=set_name,
            service=service,
            manifests=manifests,
            previous=list(base.inventory),
            force=force,
        )
        if result.pruned:
            log.info(
                "Pruned %s from service %s of set %s",
                ", ".join(inv.describe(i) for i in result.pruned),
                service.name,
                set_name,
            )
        applied = base.model_copy(
            update={
                "applied_hash": desired,
                "inventory": result.inventory,
                "template": service.template,
            }
        )
        return _by_health(applied, health_.Health(result.healthy, result.reason, result.message))
