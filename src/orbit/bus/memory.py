"""The in-process bus: asyncio fan-out to the subscribers of this process.

It keeps the last ``history`` events in memory so a subscriber can start from a position and a
durable name can resume within the process's life; nothing survives a restart (the outbox in
the store does, and is what resumes after one).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from orbit.bus.base import Message
from orbit.bus.events import ALL_SUBJECTS, LifecycleEvent, subject_matches


class InProcessBus:
    def __init__(self, *, history: int = 10_000) -> None:
        self._log: deque[tuple[int, LifecycleEvent]] = deque(maxlen=history)
        self._seq = 0
        self._ids: dict[str, int] = {}
        self._acked: dict[str, int] = {}
        self._moved = asyncio.Condition()
        self._closed = False

    async def publish(self, event: LifecycleEvent) -> None:
        if self._closed:
            raise RuntimeError("the bus is closed")
        if event.id in self._ids:  # deduplicate as JetStream does
            return
        self._seq += 1
        self._log.append((self._seq, event))
        self._ids[event.id] = self._seq
        if len(self._ids) > 2 * (self._log.maxlen or 1):
            oldest = self._log[0][0]
            self._ids = {k: v for k, v in self._ids.items() if v >= oldest}
        async with self._moved:
            self._moved.notify_all()

    async def subscribe(
        self,
        subjects: str = ALL_SUBJECTS,
        *,
        durable: str | None = None,
        since: int | None = None,
    ) -> AsyncIterator[Message]:
        if durable is not None and durable in self._acked:
            position = self._acked[durable]
        else:
            position = self._seq if since is None else since
        while not self._closed:
            pending = [(s, e) for s, e in self._log if s > position]
            for seq, event in pending:
                position = seq
                if subject_matches(subjects, event.subject):
                    yield Message(event, event.subject, seq, self._acker(durable, seq))
            async with self._moved:
                if self._seq <= position and not self._closed:
                    await self._moved.wait()

    def _acker(self, durable: str | None, seq: int) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            if durable is not None:
                self._acked[durable] = max(self._acked.get(durable, 0), seq)

        return ack

    async def close(self) -> None:
        self._closed = True
        async with self._moved:
            self._moved.notify_all()
