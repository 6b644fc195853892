"""Delivering lifecycle events to Webhooks: one task per Webhook, in order, from a durable
cursor, retried with exponential backoff.

The events come from the outbox (:mod:`orbit.bus.outbox`), not from the bus: each Webhook has a
cursor there (``webhook/<uid>``), advanced only after its receiver answered 2xx, so a receiver
down for minutes (or an Orbit restart) loses nothing: delivery resumes at the first event it did
not take. Delivery is at least once (a receiver that took an event whose acknowledgement was
lost gets it again, with the same ``X-Orbit-Event-Id``). Events are sent one at a time, so a
receiver sees them in the store's order; a failing event holds back the ones after it.

A new Webhook starts after the store revision it was created at (its first ``resourceVersion``
seen). Only the process that publishes (``leader()``, see :mod:`orbit.bus.publisher`) delivers.
The status (``WebhookStatus``) is written after each batch and each failed attempt. Secrets are
read per batch from the Credential named by ``spec.secretRef`` and never logged or written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx

from orbit import errors
from orbit.api import v1alpha1
from orbit.api.v1alpha1 import webhook as wh
from orbit.bus.events import LifecycleEvent, subject_matches, type_matches
from orbit.bus.outbox import Entry, Outbox
from orbit.bus.publisher import Leader, Notifier, always
from orbit.security.secrets import SecretVault, read_secret
from orbit.store.base import ResourceStore
from orbit.webhooks import signing

log = logging.getLogger("orbit.webhooks")

CURSOR_PREFIX = "webhook/"
_BATCH = 100
_ERROR_MAX = 512
_STATUS_EVERY = 1.0


def matches(spec: v1alpha1.WebhookSpec, event: LifecycleEvent) -> bool:
    """Whether the Webhook's filter takes ``event`` (namespace is checked by the caller)."""
    types, subjects = spec.events.types, spec.events.subjects
    if types and not any(type_matches(p, event.type.value) for p in types):
        return False
    return not subjects or any(subject_matches(p, event.subject) for p in subjects)


class _Failed(Exception):
    """One delivery attempt did not succeed (the message is safe to show)."""


class WebhookDispatcher:
    def __init__(
        self,
        store: ResourceStore,
        outbox: Outbox,
        vault: SecretVault | None,
        *,
        notifier: Notifier,
        leader: Leader = always,
        scan_interval: float = 2.0,
        retry_base: float = 0.5,
        retry_max: float = 30.0,
        timeout: float = 10.0,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._vault = vault
        self._notifier = notifier
        self._leader = leader
        self._scan = scan_interval
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._timeout = timeout
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Keep one delivery task per Webhook while this process leads (a manager runnable)."""
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            try:
                while True:
                    await self._scan_once(client)
                    await asyncio.sleep(self._scan)
            finally:
                for task in self._tasks.values():
                    task.cancel()
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
                self._tasks.clear()

    async def _scan_once(self, client: httpx.AsyncClient) -> None:
        hooks: dict[str, v1alpha1.Webhook] = {}
        if self._leader():
            token: str | None = None
            while True:
                page = await self._store.list(v1alpha1.Webhook, None, continue_token=token)
                hooks.update({h.metadata.uid or "": h for h in page.items})
                token = page.continue_token
                if not token:
                    break
        for uid, task in list(self._tasks.items()):
            if uid not in hooks or task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                del self._tasks[uid]
        for uid, hook in hooks.items():
            if uid not in self._tasks and hook.metadata.deletion_timestamp is None:
                self._tasks[uid] = asyncio.create_task(
                    self._deliver(client, hook), name=f"webhook-{hook.metadata.name}"
                )
        known = await self._outbox.cursors(CURSOR_PREFIX)
        for name in known:
            if self._leader() and name.removeprefix(CURSOR_PREFIX) not in hooks:
                await self._outbox.drop_cursor(name)

    async def _deliver(self, client: httpx.AsyncClient, hook: v1alpha1.Webhook) -> None:
        """Deliver to one Webhook until it goes (or this process stops leading)."""
        uid = hook.metadata.uid or ""
        cursor = CURSOR_PREFIX + uid
        position = await self._outbox.cursor(cursor)
        if position is None:
            position = int(hook.metadata.resource_version or 0)
            await self._outbox.set_cursor(cursor, position)
        failures = 0
        written = 0.0
        while self._leader():
            hook = await self._current(hook)
            namespace = hook.metadata.namespace or ""
            if hook.spec.paused:
                await self._status(hook, position, failures=failures)
                await asyncio.sleep(self._scan)
                continue
            batch = await self._outbox.after(position, limit=_BATCH, namespace=namespace)
            if not batch:
                await self._status(hook, position, failures=failures)
                await self._notifier.wait(self._scan)
                continue
            delay = self._retry_base
            last: LifecycleEvent | None = None
            count = 0
            for entry in batch:
                if matches(hook.spec, entry.event):
                    while True:
                        try:
                            await self._post(client, hook, entry)
                            break
                        except _Failed as failed:
                            failures += 1
                            await self._status(hook, position, failures=failures, error=str(failed))
                            log.warning(
                                "Delivering event %s to webhook %s/%s failed (%s); retrying "
                                "in %.1fs",
                                entry.event.id,
                                namespace,
                                hook.metadata.name,
                                failed,
                                delay,
                                extra={"kind": "Webhook", "namespace": namespace},
                            )
                            await asyncio.sleep(delay)
                            delay = min(delay * 2, self._retry_max)
                            hook = await self._current(hook)
                    failures, delay = 0, self._retry_base
                    await self._outbox.set_cursor(cursor, entry.seq)
                    last, count = entry.event, count + 1
                    if time.monotonic() - written > _STATUS_EVERY:  # a status write per second
                        await self._status(hook, entry.seq, failures=0, delivered=last, count=count)
                        written, last, count = time.monotonic(), None, 0
                position = entry.seq
            await self._outbox.set_cursor(cursor, position)
            if last is not None:
                await self._status(hook, position, failures=0, delivered=last, count=count)
                written, last, count = time.monotonic(), None, 0

    async def _current(self, hook: v1alpha1.Webhook) -> v1alpha1.Webhook:
        """The Webhook as stored now; cancels this task when it is gone or replaced."""
        meta = hook.metadata
        try:
            fresh = await self._store.get(v1alpha1.Webhook, meta.namespace, meta.name)
        except errors.NotFound:
            raise asyncio.CancelledError from None
        if fresh.metadata.uid != meta.uid or fresh.metadata.deletion_timestamp is not None:
            raise asyncio.CancelledError
        return fresh

    async def _post(self, client: httpx.AsyncClient, hook: v1alpha1.Webhook, entry: Entry) -> None:
        secret = await self._secret(hook)
        body = entry.event.to_json()
        sent = signing.headers(
            secret, body, event_id=entry.event.id, event_type=entry.event.type.value
        )
        try:
            response = await client.post(hook.spec.url, content=body, headers=sent)
        except httpx.HTTPError as exc:
            raise _Failed(f"{type(exc).__name__}: {exc}"[:_ERROR_MAX] or "request failed") from None
        if not 200 <= response.status_code < 300:
            raise _Failed(f"HTTP {response.status_code} from the receiver")

    async def _secret(self, hook: v1alpha1.Webhook) -> bytes:
        ref = hook.spec.secret_ref
        try:
            cred = await self._store.get(v1alpha1.Credential, hook.metadata.namespace, ref.name)
        except errors.NotFound:
            raise _Failed(
                f"{wh.REASON_SECRET_NOT_FOUND}: Credential {ref.name!r} not found"
            ) from None
        try:
            value = await read_secret(self._store, self._vault, cred.metadata.uid or "", ref.key)
        except Exception as exc:  # a keyring problem: say what, never the value
            raise _Failed(
                f"cannot open secret {ref.key!r} of {ref.name!r}: {type(exc).__name__}"
            ) from None
        if value is None:
            raise _Failed(
                f"{wh.REASON_SECRET_NOT_FOUND}: Credential {ref.name!r} has no secret {ref.key!r}"
            )
        return value

    async def _status(
        self,
        hook: v1alpha1.Webhook,
        position: int,
        *,
        failures: int,
        error: str | None = None,
        delivered: LifecycleEvent | None = None,
        count: int = 1,
    ) -> None:
        old = hook.status or v1alpha1.WebhookStatus()
        status = old.model_copy(deep=True)
        status.pending = await self._outbox.count_after(
            position, namespace=hook.metadata.namespace or ""
        )
        status.consecutive_failures = failures
        now = v1alpha1.now()
        if error is not None:
            status.last_error = error
            status.last_attempt_time = now
        if delivered is not None:
            status.last_delivered_id = delivered.id
            status.last_delivered_time = now
            status.last_attempt_time = now
            status.delivered += count
        if failures:
            cond = v1alpha1.Condition(
                type=wh.CONDITION_READY,
                status="False",
                reason=wh.REASON_FAILING,
                message=f"{failures} consecutive failed attempts: {status.last_error}",
                last_transition_time=now,
                observed_generation=hook.metadata.generation,
            )
        else:
            cond = v1alpha1.Condition(
                type=wh.CONDITION_READY,
                status="True",
                reason=wh.REASON_DELIVERING,
                message="paused" if hook.spec.paused else "delivering",
                last_transition_time=now,
                observed_generation=hook.metadata.generation,
            )
        status.conditions = v1alpha1.set_condition(status.conditions, cond)
        if status == old:
            return
        updated = hook.model_copy(update={"status": status})
        updated.metadata.resource_version = None  # the dispatcher owns the status
        with contextlib.suppress(errors.NotFound):
            stored = await self._store.update_status(updated)
            hook.status = stored.status
