"""The bus contract: publish a lifecycle event; subscribe under a durable name; close.

Two backends: :class:`orbit.bus.memory.InProcessBus` (the embedded default) and
:class:`orbit.bus.jetstream.JetStreamBus` (NATS JetStream, ``Settings.bus.url``). Publishing is
at-least-once with a stable event id (JetStream drops a repeat within its duplicate window);
a subscriber acknowledges each message, and a durable subscription resumes after the last
acknowledged one. Positions (``since``) are the backend's own sequence numbers (the stream
sequence on JetStream).

The bus wakes and informs; it is never needed for correctness: the outbox in the store
(:mod:`orbit.bus.outbox`) is what the publisher and the webhooks resume from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from orbit.bus.events import ALL_SUBJECTS, LifecycleEvent


@dataclass(frozen=True)
class Message:
    """A delivered event; call ``ack()`` once it is handled (a durable resumes after it)."""

    event: LifecycleEvent
    subject: str
    seq: int
    ack: Callable[[], Awaitable[None]]


class Bus(Protocol):
    async def publish(self, event: LifecycleEvent) -> None:
        """Publish ``event`` on its subject; returns once the bus has it (raises if it
        cannot take it now: the caller retries from its outbox cursor)."""
        ...

    def subscribe(
        self,
        subjects: str = ALL_SUBJECTS,
        *,
        durable: str | None = None,
        since: int | None = None,
    ) -> AsyncIterator[Message]:
        """Events on ``subjects`` (NATS wildcards), in order. A ``durable`` name resumes after
        its last ack; a new one starts after ``since`` (None: new events only)."""
        ...

    async def close(self) -> None: ...
