"""Reconcile one MultiClusterService.

Each pass: (1) a new revision starts when ``spec.services`` differs from the services of the
current revision; (2) the matching clusters and the owner's ServiceSets are read; clusters that
stopped matching lose their set; (3) each cluster gets the revision its wave allows: clusters
in waves the rollout has passed (every cluster once it is Complete) get the current services,
clusters in later waves keep the previous ones, and in the wave in progress at most
``maxUnavailable`` clusters are updating at once; (4) the wave's health gate: every cluster of
the wave Deployed for ``soakTime`` opens the next wave; a Failed service or a missed
``progressDeadline`` pauses the rollout or rolls that wave back, and later waves are not
touched; (5) status is summarised. Everything but the revision bookkeeping in
``status.rollout`` is recomputed from the store on every pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from orbit.api import selectors, v1alpha1
from orbit.api.v1alpha1 import OnFailure, ServiceState
from orbit.controllers import servicesets
from orbit.controllers.multiclusterservice import waves as planning
from orbit.errors import NotFound
from orbit.runtime import predicates
from orbit.runtime.cache import list_shared
from orbit.runtime.controller import Request, Result, Watch
from orbit.runtime.events import EventRecorder
from orbit.store.base import ResourceStore

KIND = v1alpha1.MultiClusterService.KIND
IDLE_RECHECK = 30.0  # seconds; a safety net beside the watches
#: How long a ServiceSet change waits for others before waking its rollout (s).
SET_WAKE_DELAY = 0.5
EventType = Literal["Normal", "Warning"]


@dataclass
class Pass:
    """What one reconcile pass knows and decides."""

    mcs: v1alpha1.MultiClusterService
    status: v1alpha1.MultiClusterServiceStatus
    now: datetime
    sets: dict[str, v1alpha1.ServiceSet]
    events: list[tuple[EventType, str, str]] = field(default_factory=list)

    @property
    def rollout(self) -> v1alpha1.RolloutStatus:
        return self.status.rollout

    @property
    def owner(self) -> v1alpha1.OwnerRef:
        return v1alpha1.OwnerRef(kind=KIND, name=self.mcs.metadata.name)

    @property
    def namespace(self) -> str:
        return self.mcs.metadata.namespace or ""

    def healthy(self, cluster: str) -> bool:
        sset = self.sets.get(cluster)
        return sset is not None and servicesets.summarize(sset)[0] == ServiceState.DEPLOYED

    def failed(self, cluster: str) -> str | None:
        sset = self.sets.get(cluster)
        if sset is None:
            return None
        state, reason = servicesets.summarize(sset)
        return (reason or "Failed") if state == ServiceState.FAILED else None

    def on_revision(self, cluster: str, revision: int) -> bool:
        sset = self.sets.get(cluster)
        return sset is not None and servicesets.revision_of(sset) == revision


class MultiClusterServiceReconciler:
    def __init__(
        self,
        store: ResourceStore,
        *,
        recorder: EventRecorder,
        poll_interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),  # sub-second: soak times
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._poll = poll_interval
        self._clock = clock
        self._by_namespace: dict[str, set[str]] = {}  # to wake MCSs when clusters change

    def watches(self) -> list[Watch]:
        return [
            # Selection reads labels and deletion only: a cluster's status writes do not count.
            Watch(
                v1alpha1.ClusterDeployment,
                self._map_cluster,
                predicate=predicates.generation_changed(),
            ),
            # Deliveries report often (each service's state); one pass per moment will do.
            Watch(v1alpha1.ServiceSet, self._map_set, delay=SET_WAKE_DELAY),
        ]

    def _map_cluster(self, obj: v1alpha1.Resource) -> list[Request]:
        namespace = obj.metadata.namespace or ""
        return [Request(KIND, namespace, n) for n in sorted(self._by_namespace.get(namespace, ()))]

    @staticmethod
    def _map_set(obj: v1alpha1.Resource) -> list[Request]:
        labels = obj.metadata.labels
        if labels.get(v1alpha1.LABEL_OWNER_KIND) != KIND:
            return []
        return [Request(KIND, obj.metadata.namespace or "", labels[v1alpha1.LABEL_OWNER_NAME])]

    async def reconcile(self, request: Request) -> Result:
        try:
            mcs = await self._store.get(
                v1alpha1.MultiClusterService, request.namespace, request.name
            )
        except NotFound:
            self._by_namespace.get(request.namespace, set()).discard(request.name)
            return Result()
        self._by_namespace.setdefault(request.namespace, set()).add(request.name)
        owner = v1alpha1.OwnerRef(kind=KIND, name=mcs.metadata.name)
        owned = await servicesets.owned(self._store, request.namespace, owner)
        if mcs.metadata.deletion_timestamp is not None:
            return await self._finalize(mcs, owned)
        if v1alpha1.MCS_FINALIZER not in mcs.metadata.finalizers:
            mcs.metadata.finalizers.append(v1alpha1.MCS_FINALIZER)
            mcs = await self._store.update(mcs)

        step = Pass(
            mcs=mcs,
            status=mcs.status.model_copy(deep=True),
            now=self._clock(),
            sets={s.spec.cluster: s for s in owned},
        )
        self._start_revision(step)
        clusters = await self._matching(step)
        waves = planning.plan(mcs.spec.rollout.waves, clusters)
        rollout = step.rollout
        if rollout.wave not in {w for w, _ in waves}:
            rollout.wave = waves[0][0]  # first pass of a revision, or the wave's clusters left
        index = next(i for i, (w, _) in enumerate(waves) if w == rollout.wave)
        await self._settle_other_waves(step, waves, index)
        if rollout.state == "Progressing":
            if mcs.spec.paused:
                rollout.message = "paused by spec.paused; set it to false to resume"
            else:
                await self._advance(step, waves, index, len(clusters))
        self._summarise(step, clusters, waves)
        await self._write(step)
        return Result(requeue_after=self._next_check(step))

    def _next_check(self, step: Pass) -> float:
        """Changes of ServiceSets and clusters wake this controller through its watches; only
        the time-based gates need a timer: the end of the soak and the progress deadline."""
        rollout, strategy = step.rollout, step.mcs.spec.rollout
        if rollout.state != "Progressing" or step.mcs.spec.paused:
            return IDLE_RECHECK
        due = []
        if rollout.healthy_since is not None:
            due.append(rollout.healthy_since + v1alpha1.parse_duration(strategy.soak_time))
        if rollout.wave_started_at is not None:
            due.append(
                rollout.wave_started_at + v1alpha1.parse_duration(strategy.progress_deadline)
            )
        if not due:
            return self._poll
        wait = (min(due) - step.now).total_seconds()
        return min(max(wait, self._poll), IDLE_RECHECK)

    def _start_revision(self, step: Pass) -> None:
        rollout, spec = step.rollout, step.mcs.spec
        if rollout.revision and rollout.current_services == spec.services:
            return
        rollout.current_services = list(spec.services)
        rollout.revision += 1
        rollout.state, rollout.failed_wave, rollout.wave = "Progressing", None, None
        rollout.wave_started_at, rollout.healthy_since = step.now, None
        rollout.message = f"rolling out revision {rollout.revision}"
        step.events.append(("Normal", "RolloutStarted", f"Rolling out revision {rollout.revision}"))

    async def _matching(self, step: Pass) -> list[v1alpha1.ClusterDeployment]:
        """The clusters the selector matches (shared with the cache: read, never change);
        clusters that stopped matching lose the services."""
        query = selectors.parse(step.mcs.spec.cluster_selector.to_query())
        listed = await list_shared(
            self._store, v1alpha1.ClusterDeployment, step.namespace, selector=query
        )
        clusters = [c for c in listed if c.metadata.deletion_timestamp is None]
        names = {c.metadata.name for c in clusters}
        for cluster in [c for c in step.sets if c not in names]:
            await servicesets.remove_serviceset(self._store, step.sets.pop(cluster))
        return clusters

    async def _give(self, step: Pass, cluster: str, revision: int) -> None:
        """Put ``cluster`` on ``revision`` (the current or the stable one); no services, no set."""
        rollout = step.rollout
        services = (
            rollout.current_services if revision == rollout.revision else rollout.previous_services
        )
        if step.on_revision(cluster, revision) or (cluster not in step.sets and not services):
            return
        if not services:
            await servicesets.remove_serviceset(self._store, step.sets.pop(cluster))
            return
        step.sets[cluster] = await servicesets.apply_serviceset(
            self._store,
            namespace=step.namespace,
            cluster=cluster,
            owner=step.owner,
            services=services,
            revision=revision,
        )

    async def _settle_other_waves(
        self, step: Pass, waves: list[tuple[str, list[str]]], index: int
    ) -> None:
        """Waves before the one in progress run the current revision (all waves, once the
        rollout is Complete); a rolled-back wave runs the stable one; later waves are left as
        they are, and a cluster new there starts on the stable revision."""
        rollout = step.rollout
        for i, (_, members) in enumerate(waves):
            for cluster in members:
                if rollout.state == "Complete" or i < index:
                    await self._give(step, cluster, rollout.revision)
                elif (i == index and rollout.state == "RolledBack") or (
                    i > index and cluster not in step.sets
                ):
                    await self._give(step, cluster, rollout.stable_revision)

    async def _advance(
        self, step: Pass, waves: list[tuple[str, list[str]]], index: int, total: int
    ) -> None:
        rollout, strategy = step.rollout, step.mcs.spec.rollout
        name, members = waves[index]
        updated = [c for c in members if step.on_revision(c, rollout.revision)]
        updating = [c for c in updated if not step.healthy(c)]
        room = planning.max_unavailable(strategy.max_unavailable, total) - len(updating)
        for cluster in [c for c in members if c not in updated][: max(room, 0)]:
            await self._give(step, cluster, rollout.revision)
        failures = {c: r for c in updated if (r := step.failed(c))}
        started = rollout.wave_started_at or step.now
        deadline = v1alpha1.parse_duration(strategy.progress_deadline)
        if not failures and step.now - started > deadline and not all(map(step.healthy, members)):
            failures = {c: "ProgressDeadlineExceeded" for c in members if not step.healthy(c)}
        if failures:
            await self._fail(step, name, members, failures)
            return
        if not all(step.on_revision(c, rollout.revision) and step.healthy(c) for c in members):
            rollout.healthy_since = None
            done = sum(
                1 for c in members if step.on_revision(c, rollout.revision) and step.healthy(c)
            )
            rollout.message = f"wave {name}: {done}/{len(members)} clusters updated and healthy"
            return
        rollout.healthy_since = rollout.healthy_since or step.now
        soak = v1alpha1.parse_duration(strategy.soak_time)
        if step.now - rollout.healthy_since < soak:
            rollout.message = f"wave {name}: healthy, soaking for {strategy.soak_time}"
            return
        if index + 1 == len(waves):
            rollout.state, rollout.wave, rollout.message = "Complete", None, "rollout complete"
            rollout.stable_revision = rollout.revision
            rollout.previous_services = list(rollout.current_services)
            step.events.append(
                (
                    "Normal",
                    "RolloutComplete",
                    f"Revision {rollout.revision} is on every matching cluster",
                )
            )
            return
        rollout.wave = waves[index + 1][0]
        rollout.wave_started_at, rollout.healthy_since = step.now, None
        rollout.message = f"wave {rollout.wave} started"
        step.events.append(
            ("Normal", "WaveStarted", f"Wave {name} healthy; starting wave {rollout.wave}")
        )
        await self._advance(step, waves, index + 1, total)

    async def _fail(
        self, step: Pass, wave: str, members: list[str], failures: dict[str, str]
    ) -> None:
        rollout = step.rollout
        detail = ", ".join(f"{c}: {r}" for c, r in sorted(failures.items()))
        rollout.failed_wave = wave
        if step.mcs.spec.rollout.on_failure == OnFailure.ROLLBACK:
            for cluster in members:
                await self._give(step, cluster, rollout.stable_revision)
            rollout.state = "RolledBack"
            rollout.message = (
                f"wave {wave} failed ({detail}); rolled back to revision "
                f"{rollout.stable_revision}; later waves untouched"
            )
            step.events.append(("Warning", "RolledBack", rollout.message))
        else:
            rollout.state = "Paused"
            rollout.message = (
                f"wave {wave} failed ({detail}); rollout paused, later waves untouched"
            )
            step.events.append(("Warning", "RolloutPaused", rollout.message))

    def _summarise(
        self,
        step: Pass,
        clusters: list[v1alpha1.ClusterDeployment],
        waves: list[tuple[str, list[str]]],
    ) -> None:
        wave_of = {c: w for w, members in waves for c in members}
        entries = []
        for cluster in sorted(c.metadata.name for c in clusters):
            sset = step.sets.get(cluster)
            state, reason = (
                servicesets.summarize(sset)
                if sset
                else (ServiceState.PENDING.value, "Waiting for its wave")
            )
            entries.append(
                v1alpha1.ClusterServiceState(
                    name=cluster,
                    revision=(servicesets.revision_of(sset) or 0) if sset else 0,
                    state=state,
                    reason=reason,
                    wave=wave_of.get(cluster),
                )
            )
        step.status.clusters = entries
        step.status.matching_clusters = len(entries)
        step.status.summary = servicesets.summary_line([(e.state, e.reason) for e in entries])
        step.status.observed_generation = step.mcs.metadata.generation

    async def _write(self, step: Pass) -> None:
        for type_, reason, message in step.events:
            await self._recorder.record(step.mcs, type=type_, reason=reason, message=message)
        if step.status != step.mcs.status:
            mcs = step.mcs.model_copy(update={"status": step.status})
            mcs.metadata.resource_version = None  # the controller owns status
            await self._store.update_status(mcs)

    async def _finalize(
        self, mcs: v1alpha1.MultiClusterService, owned: list[v1alpha1.ServiceSet]
    ) -> Result:
        """Remove every ServiceSet (their finalizers remove what they applied), then go."""
        if v1alpha1.MCS_FINALIZER not in mcs.metadata.finalizers:
            return Result()
        for sset in owned:
            await servicesets.remove_serviceset(self._store, sset)
        if owned:
            return Result(requeue_after=self._poll)
        mcs.metadata.finalizers.remove(v1alpha1.MCS_FINALIZER)
        await self._store.update(mcs)
        return Result()
