"""The lifecycle event bus: every lifecycle event of clusters, services and rollouts, derived
from the store and published on ``orbit.events.<namespace>.<kind>.<name>``.

- :mod:`orbit.bus.events` — the event's JSON shape, types and subjects (docs/events.md);
- :mod:`orbit.bus.derive` — which change in the store is which event;
- :mod:`orbit.bus.outbox` — the events kept in the database, with named cursors;
- :mod:`orbit.bus.publisher` — feed -> outbox (:class:`Publisher`), outbox -> bus (:class:`Relay`);
- :mod:`orbit.bus.memory`, :mod:`orbit.bus.jetstream` — the two :class:`Bus` backends.

:func:`open_bus` picks the backend from ``Settings.bus``: in-process when ``url`` is unset,
NATS JetStream for ``nats://...``.
"""

from __future__ import annotations

from orbit.bus.base import Bus, Message
from orbit.bus.events import ALL_SUBJECTS, EventType, LifecycleEvent, json_schema, subject_for
from orbit.bus.memory import InProcessBus
from orbit.bus.outbox import Entry, Outbox
from orbit.bus.publisher import Notifier, Publisher, Relay
from orbit.config import BusSettings


def open_bus(settings: BusSettings) -> Bus:
    """The configured backend (connecting lazily: NATS may come up after Orbit)."""
    if not settings.url:
        return InProcessBus()
    if not settings.url.startswith(("nats://", "tls://")):
        raise ValueError(f"bus url {settings.url!r}: use nats://HOST:PORT (or tls://)")
    from orbit.bus.jetstream import JetStreamBus  # only processes that use NATS import it

    return JetStreamBus(settings.url, stream=settings.stream)


__all__ = [
    "ALL_SUBJECTS",
    "Bus",
    "Entry",
    "EventType",
    "InProcessBus",
    "LifecycleEvent",
    "Message",
    "Notifier",
    "Outbox",
    "Publisher",
    "Relay",
    "json_schema",
    "open_bus",
    "subject_for",
]
