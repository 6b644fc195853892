"""The ServiceSet reconcile body: deliver a set's services to its cluster and report on them.

Level-based and re-entrant: every pass re-reads the set, its cluster, credential and templates,
re-renders each service and compares the hash of what it wants with the hash recorded as
applied. The inventory in the status is the only memory, and it is written in the same pass
that applied (or removed) the objects, so a pass interrupted anywhere is simply run again.

Per service, in dependency order (a service waits, Pending ``WaitingForDependency``, until the
services it depends on are Deployed and healthy before it is first applied or re-applied):

- ``OneTime``: applied once; afterwards only watched until healthy, never re-applied.
- ``Continuous``: re-applied when the desired hash changes; objects changed or deleted by hand
  are reported (state Drifted) and left alone.
- ``ContinuousWithDriftDetection``: drift is put back (a forced re-apply) with a
  ``DriftCorrected`` Event each time.

Services dropped from the spec have exactly their objects removed (Deleting until gone). A set
being deleted removes everything it applied, then drops its finalizer; when its cluster is gone
or going, the finalizer is dropped at once (the objects go with the cluster). A cluster that is
not Ready (Ready or Updating: the API serves during upgrades) leaves every service Pending.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from orbit.api import v1alpha1
from orbit.api.v1alpha1 import Phase, ServiceState
from orbit.controllers.serviceset import status as st
from orbit.controllers.serviceset.service import (
    Applier,
    Clients,
    EventType,
    Renderer,
    ServiceSync,
)
from orbit.delivery import engine
from orbit.delivery import inventory as inv
from orbit.delivery.kubeclient import UNREACHABLE, DeliveryError, KubeClient
from orbit.delivery.render import render_service
from orbit.errors import NotFound
from orbit.runtime import predicates
from orbit.runtime.controller import Request, Result, Watch, log_fields
from orbit.runtime.events import EventRecorder
from orbit.security import access
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.controllers.serviceset")

_USABLE = (Phase.READY, Phase.UPDATING)


@dataclass
class Scope:
    """One pass over one set: what it read, the statuses it computes, the events it records."""

    sset: v1alpha1.ServiceSet
    now: datetime
    previous: dict[str, v1alpha1.ServiceStatus]
    services: list[v1alpha1.ServiceStatus] | None = None
    events: list[tuple[EventType, str, str]] = field(default_factory=list)
    retry: DeliveryError | None = None
    observed: bool = False

    def event(self, type_: EventType, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))

    def transient(self, err: DeliveryError) -> None:
        self.retry = self.retry or err


class ServiceSetReconciler:
    def __init__(
        self,
        store: ResourceStore,
        *,
        clients: Clients,
        recorder: EventRecorder,
        cache_dir: Path,
        render: Renderer = render_service,
        applier: Applier = engine,
        drift_interval: float = 30.0,
        poll_interval: float = 1.0,
        retry_interval: float = 10.0,
        clock: Callable[[], datetime] = v1alpha1.now,
        catalog_namespace: str = "default",
    ) -> None:
        self._store = store
        self._clients = clients
        self._recorder = recorder
        self._catalog = catalog_namespace
        self._sync = ServiceSync(
            store,
            render=render,
            applier=applier,
            cache_dir=cache_dir,
            catalog_namespace=catalog_namespace,
        )
        self._applier = applier
        self._drift = drift_interval
        self._poll = poll_interval
        self._retry = retry_interval
        self._clock = clock
        # (kind, namespace, name) of a cluster or template -> (namespace, name) of the sets that
        # use it (a template from their namespace or the catalog's), learnt on each pass; only
        # used to wake those sets when it changes.
        self._referrers: dict[tuple[str, str, str], set[tuple[str, str]]] = {}

    def watches(self) -> list[Watch]:
        """Wake the sets of a cluster when it changes (Ready, deleted), and the sets using a
        ServiceTemplate when it appears."""
        return [
            # Its phase (Ready or not), spec, labels and deletion matter, not every status write.
            Watch(v1alpha1.ClusterDeployment, self._map, predicate=predicates.phase_changed()),
            Watch(v1alpha1.ServiceTemplate, self._map),
        ]

    def _map(self, obj: v1alpha1.Resource) -> list[Request]:
        namespace = obj.metadata.namespace or ""
        sets = self._referrers.get((obj.KIND, namespace, obj.metadata.name), set())
        return [Request(v1alpha1.ServiceSet.KIND, ns, n) for ns, n in sorted(sets)]

    def _remember(self, sset: v1alpha1.ServiceSet) -> None:
        namespace, name = sset.metadata.namespace or "", sset.metadata.name
        key = (namespace, name)
        cluster = (v1alpha1.ClusterDeployment.KIND, namespace, sset.spec.cluster)
        self._referrers.setdefault(cluster, set()).add(key)
        for svc in sset.spec.services:
            for where in {namespace, self._catalog}:
                ref = (v1alpha1.ServiceTemplate.KIND, where, svc.template)
                self._referrers.setdefault(ref, set()).add(key)

    async def reconcile(self, request: Request) -> Result:
        try:
            sset = await self._store.get(v1alpha1.ServiceSet, request.namespace, request.name)
        except NotFound:
            return Result()
        self._remember(sset)
        scope = Scope(
            sset=sset,
            now=self._clock(),
            previous={s.name: s for s in sset.status.services},
        )
        try:
            if sset.metadata.deletion_timestamp is not None:
                return await self._reconcile_delete(scope)
            return await self._reconcile_normal(scope)
        finally:
            await self._finish(scope)

    # -- the cluster ---------------------------------------------------------------------------

    async def _target(
        self, scope: Scope
    ) -> tuple[v1alpha1.ClusterDeployment | None, tuple[str, str] | None]:
        """The set's cluster, and (reason, message) when it cannot be delivered to now."""
        sset = scope.sset
        try:
            cluster = await self._store.get(
                v1alpha1.ClusterDeployment, sset.metadata.namespace, sset.spec.cluster
            )
        except NotFound:
            return None, (st.CLUSTER_NOT_FOUND, f"cluster {sset.spec.cluster!r} not found")
        if cluster.metadata.deletion_timestamp is not None:
            return cluster, (st.CLUSTER_DELETING, f"cluster {cluster.metadata.name!r} is deleting")
        if cluster.status.phase not in _USABLE:
            return cluster, (
                st.CLUSTER_NOT_READY,
                f"cluster {cluster.metadata.name!r} is {cluster.status.phase.value}",
            )
        return cluster, None

    async def _client(self, scope: Scope, cluster: v1alpha1.ClusterDeployment) -> KubeClient:
        try:
            credential = await access.resolve(
                self._store,
                v1alpha1.Credential,
                cluster.metadata.namespace or "",
                cluster.spec.credential,
                catalog_namespace=self._catalog,
            )
        except NotFound:
            raise DeliveryError(
                st.CREDENTIAL_NOT_FOUND,
                f"credential {cluster.spec.credential!r} of cluster {cluster.metadata.name!r} "
                "not found",
                transient=True,
            ) from None
        return await self._clients.get(cluster, credential)

    def _hold(self, scope: Scope, reason: str, message: str) -> None:
        """Every service waits (keeping its inventory) for the reason given."""
        wanted = _enabled(scope.sset)
        held = [
            st.with_state(
                scope.previous.get(svc.name) or st.initial(svc),
                ServiceState.PENDING,
                reason,
                message,
            )
            for svc in wanted
        ]
        names = {svc.name for svc in wanted}
        held += [
            st.with_state(prev, ServiceState.DELETING, reason, message)
            for name, prev in scope.previous.items()
            if name not in names
        ]
        scope.services = [st.stamp(scope.previous.get(s.name), s, scope.now) for s in held]
        scope.observed = True

    # -- normal path ---------------------------------------------------------------------------

    async def _reconcile_normal(self, scope: Scope) -> Result:
        sset = scope.sset
        if v1alpha1.SERVICESET_FINALIZER not in sset.metadata.finalizers:
            sset.metadata.finalizers.append(v1alpha1.SERVICESET_FINALIZER)
            scope.sset = sset = await self._store.update(sset)
        cluster, blocked = await self._target(scope)
        if blocked is not None:
            self._hold(scope, *blocked)
            return Result(requeue_after=self._poll if cluster is not None else self._retry)
        assert cluster is not None
        try:
            client = await self._client(scope, cluster)
        except DeliveryError as err:
            self._hold(scope, err.reason, err.message)
            if not err.transient:
                return Result(requeue_after=self._retry)
            raise

        wanted = _enabled(sset)
        done: dict[str, v1alpha1.ServiceStatus] = {}
        for svc in st.dependency_order(wanted):
            prev = scope.previous.get(svc.name)
            if _unreachable(scope):  # one timeout per pass is enough: the rest keep their state
                assert scope.retry is not None
                base = prev or st.initial(svc)
                done[svc.name] = st.stamp(
                    prev,
                    st.with_state(base, base.state, scope.retry.reason, scope.retry.message),
                    scope.now,
                )
                continue
            outcome = await self._sync.run(
                client, sset=sset, cluster=cluster, service=svc, previous=prev, done=done
            )
            for type_, reason, message in outcome.events:
                scope.event(type_, reason, message)
            if outcome.error is not None:
                await self._on_error(cluster, outcome.error)
                if outcome.error.transient:
                    scope.transient(outcome.error)
            new = st.stamp(prev, outcome.status, scope.now)
            for type_, reason, message in st.transition_events(prev, new):
                scope.event(type_, reason, message)
            done[svc.name] = new
        names = {svc.name for svc in wanted}
        dropped = [prev for name, prev in scope.previous.items() if name not in names]
        leaving = (
            dropped
            if _unreachable(scope)
            else await self._remove_dropped(scope, client, cluster, dropped)
        )
        scope.services = [done[svc.name] for svc in wanted] + leaving
        scope.observed = True
        if scope.retry is not None:
            raise scope.retry
        return Result(
            requeue_after=st.requeue_after(
                scope.services, poll=self._poll, retry=self._retry, drift=self._drift
            )
        )

    async def _on_error(self, cluster: v1alpha1.ClusterDeployment, err: DeliveryError) -> None:
        if err.code == 401:  # the cluster refused our token: fetch a new kubeconfig next time
            await self._clients.invalidate(cluster.metadata.uid or "")

    async def _remove_dropped(
        self,
        scope: Scope,
        client: KubeClient,
        cluster: v1alpha1.ClusterDeployment,
        dropped: list[v1alpha1.ServiceStatus],
    ) -> list[v1alpha1.ServiceStatus]:
        """Remove the objects of services no longer in the spec; those not gone yet stay in the
        status as Deleting."""
        leaving = []
        for prev in dropped:
            left = await self._remove(scope, client, cluster, prev)
            if left is not None:
                leaving.append(left)
        return leaving

    async def _remove(
        self,
        scope: Scope,
        client: KubeClient,
        cluster: v1alpha1.ClusterDeployment,
        prev: v1alpha1.ServiceStatus,
    ) -> v1alpha1.ServiceStatus | None:
        """Remove one service's objects: None when all are gone (a Removed Event is recorded),
        else its status, Deleting, listing what is left."""
        name = scope.sset.metadata.name
        try:
            log.info("Removing service %s of set %s", prev.name, name, extra=_fields(scope.sset))
            remaining = await self._applier.remove(client, set_name=name, inventory=prev.inventory)
        except DeliveryError as err:
            await self._on_error(cluster, err)
            if err.transient:
                scope.transient(err)
            new = st.with_state(prev, ServiceState.DELETING, err.reason, err.message)
            return st.stamp(prev, new, scope.now)
        if not remaining:
            count = len(prev.inventory)
            scope.event(
                "Normal",
                "Removed",
                f"Service {prev.name} removed from the cluster ({count} objects deleted)",
            )
            return None
        left = ", ".join(inv.describe(i) for i in remaining)
        new = st.with_state(
            prev, ServiceState.DELETING, st.REMOVING, f"waiting for {left}", inventory=remaining
        )
        return st.stamp(prev, new, scope.now)

    # -- deletion ------------------------------------------------------------------------------

    async def _reconcile_delete(self, scope: Scope) -> Result:
        sset = scope.sset
        if v1alpha1.SERVICESET_FINALIZER not in sset.metadata.finalizers:
            return Result()
        leaving = [
            st.with_state(prev, ServiceState.DELETING, prev.reason, prev.message)
            for prev in sset.status.services
        ]
        scope.services = [st.stamp(scope.previous.get(s.name), s, scope.now) for s in leaving]
        cluster, blocked = await self._target(scope)
        if cluster is None or cluster.metadata.deletion_timestamp is not None:
            log.info("Cluster gone or going: releasing set", extra=_fields(sset))
            if cluster is not None:  # its API goes with it: drop the cached client
                await self._clients.invalidate(cluster.metadata.uid or "")
            return await self._release(scope)
        if not any(s.inventory for s in leaving):
            return await self._release(scope)
        if blocked is not None:
            self._hold_deleting(scope, *blocked)
            return Result(requeue_after=self._poll)
        try:
            client = await self._client(scope, cluster)
        except DeliveryError as err:
            self._hold_deleting(scope, err.reason, err.message)
            if err.transient:
                raise
            return Result(requeue_after=self._retry)
        still = []
        for prev in leaving:
            left = await self._remove(scope, client, cluster, prev)
            if left is not None:
                still.append(left)
        scope.services = still
        if scope.retry is not None:
            raise scope.retry
        if still:
            return Result(requeue_after=self._poll)
        return await self._release(scope)

    def _hold_deleting(self, scope: Scope, reason: str, message: str) -> None:
        held = [
            st.with_state(s, ServiceState.DELETING, reason, message) for s in scope.services or []
        ]
        scope.services = [st.stamp(scope.previous.get(s.name), s, scope.now) for s in held]

    async def _release(self, scope: Scope) -> Result:
        sset = scope.sset
        sset.metadata.finalizers.remove(v1alpha1.SERVICESET_FINALIZER)
        log.info("Dropping finalizer", extra=_fields(sset))
        with contextlib.suppress(NotFound):
            scope.sset = await self._store.update(sset)
        return Result()

    # -- status --------------------------------------------------------------------------------

    async def _finish(self, scope: Scope) -> None:
        """Record the pass's Events, then write the status if it changed."""
        sset = scope.sset
        for type_, reason, message in scope.events:
            await self._recorder.record(sset, type=type_, reason=reason, message=message)
        if scope.services is None:
            return
        status = sset.status.model_copy(deep=True)
        status.services = scope.services
        if scope.services:
            cond = st.ready_condition(scope.services, generation=sset.metadata.generation)
            status.conditions = v1alpha1.set_condition(status.conditions, cond)
        else:
            status.conditions = [c for c in status.conditions if c.type != st.READY]
        if scope.observed:
            status.observed_generation = sset.metadata.generation
        if status == sset.status:
            return
        updated = sset.model_copy(update={"status": status})
        updated.metadata.resource_version = None  # the controller owns status: last write wins
        with contextlib.suppress(NotFound):  # the finalizer came off: the object is gone
            await self._store.update_status(updated)


def _unreachable(scope: Scope) -> bool:
    return scope.retry is not None and scope.retry.reason == UNREACHABLE


def _enabled(sset: v1alpha1.ServiceSet) -> list[v1alpha1.Service]:
    return [s for s in sset.spec.services if not s.disabled]


def _fields(sset: v1alpha1.ServiceSet) -> dict[str, str]:
    return log_fields("serviceset", Request.for_object(sset))
