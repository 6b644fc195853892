"""Webhooks, and the wiring of the lifecycle event pipeline into a controllers process.

:func:`add_runnables` adds to a :class:`~orbit.runtime.manager.Manager` the publisher (change
feed -> outbox), the relay (outbox -> bus), the webhook dispatcher (outbox -> receivers) and the
outbox's pruning, all gated by ``leader()`` so exactly one process publishes and delivers.
"""

from __future__ import annotations

import time

from orbit.bus import Bus, Notifier, Outbox, Publisher, Relay
from orbit.bus.publisher import Leader, always
from orbit.config import Settings
from orbit.runtime.manager import Manager
from orbit.security.secrets import SecretVault
from orbit.store.base import ResourceStore
from orbit.webhooks.dispatcher import WebhookDispatcher, matches
from orbit.webhooks.signing import sign, verify


def add_runnables(
    manager: Manager,
    *,
    store: ResourceStore,
    outbox: Outbox,
    bus: Bus,
    vault: SecretVault | None,
    settings: Settings,
    leader: Leader = always,
) -> WebhookDispatcher:
    notifier = Notifier()
    publisher = Publisher(store, outbox, notifier=notifier, leader=leader)
    relay = Relay(outbox, bus, notifier=notifier, leader=leader)
    hooks = settings.webhooks
    dispatcher = WebhookDispatcher(
        store,
        outbox,
        vault,
        notifier=notifier,
        leader=leader,
        retry_base=hooks.retry_base,
        retry_max=hooks.retry_max,
        timeout=hooks.timeout,
    )
    keep = settings.event_ttl_hours * 3600.0

    async def prune() -> None:
        if leader():
            await outbox.prune(older_than=time.time() - keep)

    manager.add_runnable("lifecycle-publisher", publisher.run)
    manager.add_runnable("lifecycle-relay", relay.run)
    manager.add_runnable("webhook-dispatcher", dispatcher.run)
    manager.add_runnable("lifecycle-prune", prune, interval=600.0)
    return dispatcher


__all__ = ["WebhookDispatcher", "add_runnables", "matches", "sign", "verify"]
