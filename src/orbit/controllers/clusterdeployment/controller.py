"""The ClusterDeployment reconcile body.

Level-based and re-entrant: each pass re-reads the cluster, its template and credential, and
re-observes the provider; ``ensure_cluster`` is idempotent (keyed by the cluster's uid), so a
pass interrupted anywhere, even by ``kill -9``, is simply run again. The finalizer is in place
before the provider is first called, so a cluster the provider may have created is always torn
down before the object disappears. Status is computed in ``finally`` and written only when it
changed; ``observedGeneration`` moves only on a pass that succeeded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ConditionType, Phase, Reason
from orbit.controllers.clusterdeployment import phases, status
from orbit.controllers.clusterdeployment.pacing import HealthPacer, Shards
from orbit.controllers.clusterdeployment.phases import Blocked, Scope
from orbit.errors import NotFound
from orbit.providers import base
from orbit.providers.registry import ProviderRegistry
from orbit.runtime.controller import Request, Result, TerminalError, Watch, log_fields
from orbit.runtime.events import EventRecorder
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.controllers.clusterdeployment")


class ClusterDeploymentReconciler:
    def __init__(
        self,
        store: ResourceStore,
        *,
        providers: ProviderRegistry,
        recorder: EventRecorder,
        poll_interval: float = 1.0,
        ready_recheck: float = 60.0,
        ready_recheck_rate: float = 50.0,
        clock: Callable[[], datetime] = v1alpha1.now,
        catalog_namespace: str = "default",
        shards: Shards | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog_namespace
        self._providers = providers
        self._recorder = recorder
        self._poll = poll_interval
        self._pacer = HealthPacer(ready_recheck, ready_recheck_rate, shards=shards)
        self._clock = clock
        # (kind, namespace, name) of a template or credential -> (namespace, name) of clusters
        # that reference it (from their namespace or the catalog's), learnt on each pass; only
        # used to wake those clusters when it appears or changes.
        self._referrers: dict[tuple[str, str, str], set[tuple[str, str]]] = {}

    def watches(self) -> list[Watch]:
        """Wake the clusters that use a template or credential when it changes or appears."""
        return [Watch(v1alpha1.ClusterTemplate, self._map), Watch(v1alpha1.Credential, self._map)]

    def _map(self, obj: v1alpha1.Resource) -> list[Request]:
        namespace = obj.metadata.namespace or ""
        clusters = self._referrers.get((obj.KIND, namespace, obj.metadata.name), set())
        return [Request(v1alpha1.ClusterDeployment.KIND, ns, name) for ns, name in sorted(clusters)]

    def _remember(self, cluster: v1alpha1.ClusterDeployment) -> None:
        namespace, name = cluster.metadata.namespace or "", cluster.metadata.name
        for kind, ref in (
            (v1alpha1.ClusterTemplate.KIND, cluster.spec.template),
            (v1alpha1.Credential.KIND, cluster.spec.credential),
        ):
            for where in {namespace, self._catalog}:
                self._referrers.setdefault((kind, where, ref), set()).add((namespace, name))

    async def reconcile(self, request: Request) -> Result:
        self._pacer.forget((request.namespace, request.name))  # until this pass ends Ready
        try:
            cluster = await self._store.get(
                v1alpha1.ClusterDeployment, request.namespace, request.name
            )
        except NotFound:
            return Result()
        self._remember(cluster)
        scope = Scope(
            cluster=cluster, status=cluster.status.model_copy(deep=True), now=self._clock()
        )
        succeeded = False
        try:
            if cluster.metadata.deletion_timestamp is not None:
                result = await self._reconcile_delete(scope)
            else:
                result = await self._reconcile_normal(scope)
            succeeded = True
            return result
        finally:
            await self._finish(scope, succeeded=succeeded)

    async def _reconcile_normal(self, scope: Scope) -> Result:
        cluster = scope.cluster
        if v1alpha1.FINALIZER not in cluster.metadata.finalizers:
            cluster.metadata.finalizers.append(v1alpha1.FINALIZER)
            scope.cluster = cluster = await self._store.update(cluster)

        expiry = cluster.expiry()
        scope.status.expires_at = expiry
        if expiry is not None and scope.now >= expiry:
            lifetime = f"ttl {cluster.spec.ttl}" if cluster.spec.ttl else "expiresAt"
            scope.event(
                "Warning",
                Reason.EXPIRED,
                f"Cluster expired at {expiry.isoformat()} ({lifetime}); tearing it down",
            )
            log.info("Deleting expired cluster", extra=_fields(cluster))
            scope.cluster = await self._store.delete(
                v1alpha1.ClusterDeployment, cluster.metadata.namespace, cluster.metadata.name
            )
            scope.status.phase = Phase.DELETING
            return Result(requeue_after=0.0)

        try:
            await phases.resolve_template(scope, self._store, catalog_namespace=self._catalog)
            await phases.resolve_credential(
                scope, self._store, self._providers, catalog_namespace=self._catalog
            )
        except Blocked as blocked:
            return self._blocked(scope, blocked)
        scope.status.available_upgrades = await phases.available_upgrades(
            scope, self._store, catalog_namespace=self._catalog
        )
        assert scope.desired is not None
        assert scope.provider is not None
        assert scope.credential is not None
        self._note_changes(scope)

        obs = await self._observe_settled(scope)
        try:
            if obs is None:
                log.info("Ensuring cluster", extra=_fields(cluster))
                obs = await scope.provider.ensure_cluster(scope.desired, scope.credential)
        except base.ProviderPermanentError as err:
            self._fail(scope, Reason.PROVIDER_FAILED, str(err))
            raise TerminalError(str(err)) from err
        except base.ProviderError as err:
            status.set_conditions(
                scope.status,
                status.condition(
                    ConditionType.READY,
                    False,
                    Reason.PROVIDER_ERROR,
                    f"{err} (retrying)",
                    generation=scope.generation,
                ),
            )
            scope.status.message = f"provider error, retrying: {err}"
            raise

        ready = status.observe_into(scope.status, scope.desired, obs, generation=scope.generation)
        previous = scope.status.phase
        scope.status.phase = status.next_phase(scope.status, ready=ready)
        scope.status = scope.status.model_copy(
            update={
                "conditions": [
                    c for c in scope.status.conditions if c.type != ConditionType.STALLED
                ]
            }
        )
        if not ready:
            return Result(requeue_after=self._poll)
        if previous != Phase.READY:
            summary = v1alpha1.get_condition(scope.status.conditions, ConditionType.READY)
            scope.event("Normal", "Ready", summary.message if summary else "Cluster is ready")
        scope.status.template = cluster.spec.template
        recheck = self._pacer.next_check((cluster.metadata.namespace or "", cluster.metadata.name))
        if expiry is not None:
            recheck = min(recheck, max((expiry - scope.now).total_seconds(), 0.0))
        return Result(requeue_after=recheck)

    async def _observe_settled(self, scope: Scope) -> base.Observation | None:
        """A settled Ready cluster's health check: the provider's observation (a read) when it
        still matches the desired cluster, else None, and the pass converges with
        ``ensure_cluster``. At thousands of Ready clusters this is most passes, and a read
        costs the provider (and the database behind it) far less than a converge."""
        st, desired = scope.status, scope.desired
        assert desired is not None and scope.provider is not None
        assert scope.credential is not None
        if st.phase != Phase.READY or st.observed_generation != scope.generation:
            return None
        try:
            obs = await scope.provider.observe(desired.ref, scope.credential)
        except base.ProviderError:
            return None  # ensure_cluster reports it, with its retry or its stall
        if obs is None:
            return None
        probe = st.model_copy(deep=True)
        matches = status.observe_into(probe, desired, obs, generation=scope.generation)
        if matches:
            log.debug("Cluster healthy", extra=_fields(scope.cluster))
        return obs if matches else None

    def _note_changes(self, scope: Scope) -> None:
        """Record an Event when a new generation starts a create, scale or upgrade."""
        desired, cluster, st = scope.desired, scope.cluster, scope.status
        assert desired is not None
        if st.observed_generation == cluster.metadata.generation:
            return
        if st.template is None and st.observed_generation is None:
            scope.event(
                "Normal",
                Reason.PROVISIONING,
                f"Creating cluster: {desired.control_plane.count} control-plane and "
                f"{desired.workers.count} worker nodes on {desired.kubernetes_version}",
            )
            return
        workers = sum(1 for n in st.nodes.items if n.role == "worker")
        if workers != desired.workers.count:
            scope.event(
                "Normal",
                Reason.SCALING,
                f"Scaling workers from {workers} to {desired.workers.count}",
            )
        if st.kubernetes_version and st.kubernetes_version != desired.kubernetes_version:
            scope.event(
                "Normal",
                Reason.UPGRADING,
                f"Upgrading from {st.template} ({st.kubernetes_version}) to "
                f"{cluster.spec.template} ({desired.kubernetes_version}), one node at a time",
            )

    async def _reconcile_delete(self, scope: Scope) -> Result:
        cluster = scope.cluster
        scope.status.phase = Phase.DELETING
        if v1alpha1.FINALIZER not in cluster.metadata.finalizers:
            return Result()
        try:
            await phases.resolve_credential(
                scope, self._store, self._providers, catalog_namespace=self._catalog
            )
        except Blocked as blocked:
            # Without its credential a cluster cannot be torn down: say so, keep trying.
            status.set_conditions(
                scope.status,
                status.condition(
                    ConditionType.STALLED,
                    True,
                    blocked.reason,
                    f"cannot tear down: {blocked.message}",
                    generation=scope.generation,
                ),
            )
            scope.status.message = f"cannot tear down: {blocked.message}"
            return Result(requeue_after=blocked.retry_after or 60.0)
        assert scope.provider is not None
        assert scope.credential is not None
        log.info("Deleting cluster", extra=_fields(cluster))
        try:
            deletion = await scope.provider.delete_cluster(scope.ref, scope.credential)
        except base.ProviderError as err:
            scope.status.message = f"teardown failed, retrying: {err}"
            status.set_conditions(
                scope.status,
                status.condition(
                    ConditionType.READY,
                    False,
                    Reason.PROVIDER_ERROR,
                    scope.status.message,
                    generation=scope.generation,
                ),
            )
            raise
        if not deletion.gone:
            remaining = ", ".join(deletion.remaining) or "resources"
            scope.status.message = f"tearing down: {remaining} remaining"
            status.set_conditions(
                scope.status,
                status.condition(
                    ConditionType.READY,
                    False,
                    Reason.DELETING,
                    scope.status.message,
                    generation=scope.generation,
                ),
            )
            return Result(requeue_after=self._poll)
        # Recorded before the finalizer goes: whoever sees the object gone finds the Event.
        await self._recorder.record(
            cluster,
            type="Normal",
            reason="Deleted",
            message="Cluster torn down at the provider; nothing left",
        )
        cluster.metadata.finalizers.remove(v1alpha1.FINALIZER)
        await self._store.update(cluster)
        return Result()

    def _blocked(self, scope: Scope, blocked: Blocked) -> Result:
        cond_type = (
            ConditionType.CREDENTIAL_VALID
            if blocked.reason
            in (Reason.CREDENTIAL_NOT_FOUND, Reason.PROVIDER_MISMATCH, Reason.PROVIDER_UNKNOWN)
            else ConditionType.TEMPLATE_VALID
        )
        status.set_conditions(
            scope.status,
            status.condition(
                cond_type, False, blocked.reason, blocked.message, generation=scope.generation
            ),
        )
        if blocked.retry_after is None:
            self._fail(scope, blocked.reason, blocked.message)
            raise TerminalError(blocked.message)
        status.set_conditions(
            scope.status,
            status.condition(
                ConditionType.READY,
                False,
                blocked.reason,
                blocked.message,
                generation=scope.generation,
            ),
        )
        scope.status.message = blocked.message
        return Result(requeue_after=blocked.retry_after)

    def _fail(self, scope: Scope, reason: str, message: str) -> None:
        stalled = v1alpha1.get_condition(scope.status.conditions, ConditionType.STALLED)
        known = (
            stalled is not None
            and stalled.message == message
            and stalled.observed_generation == scope.generation
        )
        scope.status.phase = Phase.FAILED
        scope.status.message = message
        status.set_conditions(
            scope.status,
            status.condition(
                ConditionType.READY, False, reason, message, generation=scope.generation
            ),
            status.condition(
                ConditionType.STALLED, True, reason, message, generation=scope.generation
            ),
        )
        if not known:  # the same failure seen again on a later pass is not news
            scope.event("Warning", reason, message)

    async def _finish(self, scope: Scope, *, succeeded: bool) -> None:
        """Record the events of this pass, then write the status if it changed (in that order,
        so whoever sees the new status also finds the events that explain it)."""
        cluster = scope.cluster
        for type_, reason, message in scope.events:
            await self._recorder.record(cluster, type=type_, reason=reason, message=message)
        if succeeded or scope.status.phase == Phase.FAILED:
            scope.status.observed_generation = cluster.metadata.generation
        if scope.status != cluster.status:
            cluster = cluster.model_copy(update={"status": scope.status})
            cluster.metadata.resource_version = None  # the controller owns status: last write wins
            with contextlib.suppress(NotFound):  # the finalizer came off: the object is gone
                await self._store.update_status(cluster)


def _fields(cluster: v1alpha1.ClusterDeployment) -> dict[str, str]:
    return log_fields("clusterdeployment", Request.for_object(cluster))
