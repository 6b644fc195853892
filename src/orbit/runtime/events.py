"""Recording Events about objects, and expiring old ones.

An Event is named ``<object name>.<hash of kind/uid/reason/message>``, so a repeat of the same
thing happening to the same object finds the existing Event and bumps its ``count`` and
``lastTimestamp`` (as Kubernetes' event correlator does) instead of flooding the store.
Recording is best effort: a failure is logged as a warning and never fails the reconcile pass
that reported it. The recorder writes exactly the message it is given, so callers must keep
secrets out of messages.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from orbit import errors
from orbit.api import v1alpha1
from orbit.store.base import ResourceStore

logger = logging.getLogger("orbit.runtime")

EventType = Literal["Normal", "Warning"]

_ATTEMPTS = 5
_MAX_NAME = 253
_HASH_LEN = 10
_PAGE = 500


def event_name(obj: v1alpha1.Resource, *, reason: str, message: str) -> str:
    """The stable name of the Event for (object, reason, message)."""
    ident = f"{obj.KIND}/{obj.metadata.uid or ''}/{reason}/{message}"
    digest = hashlib.sha256(ident.encode()).hexdigest()[:_HASH_LEN]
    # Leave room for ".<digest>" and keep the truncated prefix a valid DNS subdomain.
    prefix = obj.metadata.name[: _MAX_NAME - _HASH_LEN - 1].rstrip("-.")
    return f"{prefix}.{digest}"


def event_namespace(obj: v1alpha1.Resource) -> str | None:
    """Where an object's Events live: its namespace; a Namespace's Events live in itself."""
    if obj.NAMESPACED:
        return obj.metadata.namespace
    if isinstance(obj, v1alpha1.Namespace):
        return obj.metadata.name
    return None


class EventRecorder:
    """Writes Events on behalf of one ``component`` (shown as the Event's ``source``)."""

    def __init__(self, store: ResourceStore, *, component: str) -> None:
        self._store = store
        self.component = component

    async def record(
        self, obj: v1alpha1.Resource, *, type: EventType, reason: str, message: str
    ) -> None:
        """Record that ``reason``/``message`` happened to ``obj``. Never raises."""
        try:
            await self._record(obj, type=type, reason=reason, message=message)
        except Exception as exc:
            logger.warning(
                "Could not record event %s on %s %s: %s",
                reason,
                obj.KIND,
                obj.metadata.name,
                exc,
                extra={"kind": obj.KIND, "namespace": obj.metadata.namespace or ""},
            )

    async def _record(
        self, obj: v1alpha1.Resource, *, type: EventType, reason: str, message: str
    ) -> None:
        namespace = event_namespace(obj)
        if namespace is None:
            raise ValueError(f"no namespace to hold events of cluster-scoped {obj.KIND}")
        name = event_name(obj, reason=reason, message=message)
        # Two recorders may race on the same Event: a lost create or a stale update is retried
        # against what the winner wrote. Most Events are new: create first, read only if not.
        for _ in range(_ATTEMPTS):
            stamp = v1alpha1.now()
            try:
                await self._store.create(
                    self._new_event(obj, namespace, name, stamp, type, reason, message)
                )
                return
            except errors.AlreadyExists:
                pass
            try:
                existing = await self._store.get(v1alpha1.Event, namespace, name)
            except errors.NotFound:
                continue
            bumped = existing.model_copy(
                update={"count": existing.count + 1, "last_timestamp": stamp, "type": type}
            )
            try:
                await self._store.update(bumped)
                return
            except (errors.Conflict, errors.NotFound):
                continue
        raise errors.Conflict(f"event {namespace}/{name} kept changing under us", kind="Event")

    def _new_event(
        self,
        obj: v1alpha1.Resource,
        namespace: str,
        name: str,
        stamp: datetime,
        type: EventType,
        reason: str,
        message: str,
    ) -> v1alpha1.Event:
        return v1alpha1.Event(
            metadata=v1alpha1.ObjectMeta(name=name, namespace=namespace),
            involved_object=v1alpha1.ObjectReference(
                kind=obj.KIND,
                namespace=obj.metadata.namespace,
                name=obj.metadata.name,
                uid=obj.metadata.uid,
            ),
            reason=reason,
            message=message,
            type=type,
            count=1,
            first_timestamp=stamp,
            last_timestamp=stamp,
            source=v1alpha1.EventSource(component=self.component),
        )


async def collect_events(store: ResourceStore, *, older_than: timedelta) -> int:
    """Delete Events last seen more than ``older_than`` ago; returns how many went."""
    cutoff = datetime.now(UTC) - older_than
    expired: list[v1alpha1.Event] = []
    token: str | None = None
    # Gather first, delete after: deleting while paging could shift the pages under us.
    while True:
        page = await store.list(v1alpha1.Event, None, limit=_PAGE, continue_token=token)
        expired.extend(ev for ev in page.items if _last_seen(ev) < cutoff)
        token = page.continue_token
        if not token:
            break
    if expired:
        logger.info("Deleting %d events older than %s", len(expired), older_than)
    deleted = 0
    for ev in expired:
        meta = ev.metadata
        try:
            # The resourceVersion guard keeps an Event that was bumped since we listed it.
            await store.delete(
                v1alpha1.Event, meta.namespace, meta.name, resource_version=meta.resource_version
            )
            deleted += 1
        except (errors.NotFound, errors.Conflict):
            continue
    return deleted


def _last_seen(ev: v1alpha1.Event) -> datetime:
    stamp = ev.last_timestamp or ev.first_timestamp or ev.metadata.creation_timestamp
    if stamp is None:
        return datetime.now(UTC)  # unknown age: keep it
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
