"""From the store to lifecycle events: which change of which object is which event.

Two sources, both in the store's change feed:

- the ClusterDeployment itself: ADDED is ``cluster.created``, DELETED (the object is gone, its
  teardown done) is ``cluster.deleted``;
- the Events the controllers record (``orbit.runtime.events``) before they write the status
  that follows from them: an Event ADDED, or MODIFIED with a higher ``count`` (the same thing
  happened again), maps by (involved kind, reason) to a type (:data:`REASONS`). Warning Events
  of a ClusterDeployment with any other reason are ``cluster.failed``.

Ids are stable: ``<uid>.created`` / ``<uid>.deleted`` for the object's own changes,
``<event uid>.<count>`` for an Event's occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orbit.api import v1alpha1
from orbit.bus.events import EventType, LifecycleEvent
from orbit.store.base import WatchEvent

T = EventType
REASONS: dict[tuple[str, str], EventType] = {
    ("ClusterDeployment", "Provisioning"): T.CLUSTER_PROVISIONING,
    ("ClusterDeployment", "Ready"): T.CLUSTER_READY,
    ("ClusterDeployment", "Scaling"): T.CLUSTER_SCALED,
    ("ClusterDeployment", "Upgrading"): T.CLUSTER_UPGRADED,
    ("ClusterDeployment", "Expired"): T.CLUSTER_EXPIRED,
    ("ServiceSet", "Deployed"): T.SERVICE_DEPLOYED,
    ("ServiceSet", "Drifted"): T.SERVICE_DRIFTED,
    ("ServiceSet", "DriftCorrected"): T.SERVICE_DRIFTED,
    ("ServiceSet", "Failed"): T.SERVICE_FAILED,
    ("MultiClusterService", "RolloutStarted"): T.ROLLOUT_WAVE_STARTED,
    ("MultiClusterService", "WaveStarted"): T.ROLLOUT_WAVE_STARTED,
    ("MultiClusterService", "RolloutPaused"): T.ROLLOUT_WAVE_PAUSED,
    ("MultiClusterService", "RolledBack"): T.ROLLOUT_ROLLED_BACK,
    ("MultiClusterService", "RolloutComplete"): T.ROLLOUT_COMPLETED,
}
# Reasons that never make an event from the Event feed: "Deleted" is taken from the object's
# own DELETED change (it also covers clusters deleted without a teardown).
_SKIP = {("ClusterDeployment", "Deleted")}
WATCHED: tuple[type[v1alpha1.Resource], ...] = (v1alpha1.ClusterDeployment, v1alpha1.Event)


def from_change(change: WatchEvent) -> LifecycleEvent | None:
    """The lifecycle event one change of the feed means, if any."""
    obj = change.object
    if isinstance(obj, v1alpha1.ClusterDeployment):
        if change.type == "ADDED":
            return _own(obj, T.CLUSTER_CREATED, change.revision, "Created", "Cluster created")
        if change.type == "DELETED":
            return _own(obj, T.CLUSTER_DELETED, change.revision, "Deleted", "Cluster deleted")
        return None
    if isinstance(obj, v1alpha1.Event) and change.type in ("ADDED", "MODIFIED"):
        return from_event(obj, change.revision)
    return None


def from_event(
    ev: v1alpha1.Event, revision: int, *, deleted: bool = False
) -> LifecycleEvent | None:
    """The lifecycle event a recorded Event means (``deleted``: also map a cluster's "Deleted"
    Event, when recovering without the feed)."""
    ref = ev.involved_object
    key = (ref.kind, ev.reason)
    data: dict[str, object] = {"reason": ev.reason, "message": ev.message}
    if deleted and key == ("ClusterDeployment", "Deleted"):
        type_: EventType | None = T.CLUSTER_DELETED
        ident = f"{ref.uid}.deleted"  # the id the object's own removal gets
    elif key in _SKIP:
        return None
    else:
        type_ = REASONS.get(key)
        if type_ is None and ref.kind == "ClusterDeployment" and ev.type == "Warning":
            type_ = T.CLUSTER_FAILED
        ident = f"{ev.metadata.uid}.{ev.count}"
        data.update(severity=ev.type, count=ev.count, component=ev.source.component)
    if type_ is None:
        return None
    return LifecycleEvent(
        id=ident,
        source=_source(ref.kind, ref.namespace, ref.name),
        type=type_,
        time=_when(ev),
        namespace=ref.namespace,
        kind=ref.kind,
        name=ref.name,
        uid=ref.uid,
        resource_version=str(revision),
        data=data,
    )


def created(cluster: v1alpha1.ClusterDeployment, revision: int) -> LifecycleEvent:
    return _own(cluster, T.CLUSTER_CREATED, revision, "Created", "Cluster created")


def _own(
    obj: v1alpha1.ClusterDeployment, type_: EventType, revision: int, reason: str, message: str
) -> LifecycleEvent:
    meta = obj.metadata
    suffix = "created" if type_ is T.CLUSTER_CREATED else "deleted"
    stamp = meta.creation_timestamp if type_ is T.CLUSTER_CREATED else meta.deletion_timestamp
    return LifecycleEvent(
        id=f"{meta.uid}.{suffix}",
        source=_source(obj.KIND, meta.namespace, meta.name),
        type=type_,
        time=stamp or datetime.now(UTC),
        namespace=meta.namespace,
        kind=obj.KIND,
        name=meta.name,
        uid=meta.uid,
        resource_version=str(revision),
        data={
            "reason": reason,
            "message": message,
            "template": obj.spec.template,
            "labels": dict(meta.labels),
        },
    )


def _when(ev: v1alpha1.Event) -> datetime:
    return ev.last_timestamp or ev.first_timestamp or datetime.now(UTC)


def _source(kind: str, namespace: str | None, name: str) -> str:
    plural = v1alpha1.kind_for(kind).PLURAL if kind in _KINDS else kind.lower() + "s"
    where = f"/namespaces/{namespace}" if namespace else ""
    return f"/apis/{v1alpha1.API_VERSION}{where}/{plural}/{name}"


_KINDS = {cls.KIND for cls in v1alpha1.KINDS}
