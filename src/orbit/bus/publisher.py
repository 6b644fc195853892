"""Publishing lifecycle events: from the change feed into the outbox, and from the outbox to
the bus.

:class:`Publisher` follows the store's change feed (ClusterDeployments and Events, see
:mod:`orbit.bus.derive`) from the position it saved, and appends each derived event to the
outbox in the same transaction that saves the new position: a crash at any instant neither
loses an event nor stores one twice. If its position has left the feed (the feed keeps
``feed_retention`` seconds; the publisher was down longer), it recovers from the Events still
stored (every Event written since, including clusters' "Deleted" Events) and the
ClusterDeployments created since, then follows the feed again from its head.

:class:`Relay` hands the outbox to the bus in order, saving its position after each batch the
bus took; a bus that is down (NATS restarting) makes it wait and retry: the events wait in the
outbox, not in memory. A repeat after a crash carries the same id (JetStream drops it).

Exactly one process publishes: every loop runs only while ``leader()`` is true (the holder of
shard 0 of the controllers' shard leases, :mod:`orbit.runtime.sharding`; always true for a
single process). Two leaders during a hand-over would derive the same events with the same ids
and seqs: the outbox keeps one of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from orbit import errors
from orbit.api import v1alpha1
from orbit.bus import derive
from orbit.bus.base import Bus
from orbit.bus.outbox import Entry, Outbox
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.bus")

PUBLISHER = "publisher"
RELAY = "relay"
_PAGE = 500

Leader = Callable[[], bool]
R = TypeVar("R", bound=v1alpha1.Resource)


def always() -> bool:
    return True


class Notifier:
    """Wakes the outbox's readers in this process when the publisher appended (a hint: every
    reader also polls)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()


class Publisher:
    def __init__(
        self,
        store: ResourceStore,
        outbox: Outbox,
        *,
        notifier: Notifier | None = None,
        leader: Leader = always,
        idle: float = 1.0,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self.notifier = notifier or Notifier()
        self._leader = leader
        self._idle = idle

    async def run(self) -> None:
        """Publish for ever (a manager runnable: restarted with backoff if it raises)."""
        while True:
            if not self._leader():
                await asyncio.sleep(self._idle)
                continue
            position = await self._outbox.cursor(PUBLISHER)
            try:
                await self._follow(0 if position is None else position)
            except errors.Gone:
                await self.recover(position or 0)

    async def _follow(self, since: int) -> None:
        """Follow the feed after ``since`` until leadership is lost."""
        saved = time.monotonic()
        async for change in self._store.watch(derive.WATCHED, since=since):
            event = derive.from_change(change)
            if event is not None:
                await self._outbox.append(
                    [Entry(change.revision, event)], cursor=PUBLISHER, position=change.revision
                )
                self.notifier.notify()
                saved = time.monotonic()
            elif time.monotonic() - saved > self._idle:
                await self._outbox.set_cursor(PUBLISHER, change.revision)
                saved = time.monotonic()
            if not self._leader():
                return

    async def recover(self, since: int) -> int:
        """Rebuild the events after ``since`` from the objects still stored; returns how many
        it appended. Then the feed is followed from the revision read before listing."""
        head = await self._store.revision()
        log.warning(
            "The change feed no longer reaches revision %d; recovering lifecycle events "
            "from the stored Events and clusters",
            since,
        )
        entries: list[Entry] = []
        for ev in await _all(self._store, v1alpha1.Event):
            revision = int(ev.metadata.resource_version or 0)
            if revision > since:
                found = derive.from_event(ev, revision, deleted=True)
                if found is not None:
                    entries.append(Entry(revision, found))
        for cluster in await _all(self._store, v1alpha1.ClusterDeployment):
            revision = int(cluster.metadata.resource_version or 0)
            if revision > since:  # a repeat of a stored id is skipped by the outbox
                entries.append(Entry(revision, derive.created(cluster, revision)))
        entries.sort(key=lambda e: e.seq)
        await self._outbox.append(entries, cursor=PUBLISHER, position=head)
        self.notifier.notify()
        return len(entries)


class Relay:
    """Outbox -> bus, in order, from a saved position."""

    def __init__(
        self,
        outbox: Outbox,
        bus: Bus,
        *,
        notifier: Notifier,
        leader: Leader = always,
        poll: float = 1.0,
        retry_max: float = 5.0,
    ) -> None:
        self._outbox = outbox
        self._bus = bus
        self._notifier = notifier
        self._leader = leader
        self._poll = poll
        self._retry_max = retry_max

    async def run(self) -> None:
        while True:
            if not self._leader():
                await asyncio.sleep(self._poll)
                continue
            position = await self._outbox.cursor(RELAY) or 0
            batch = await self._outbox.after(position, limit=_PAGE)
            if not batch:
                await self._notifier.wait(self._poll)
                continue
            for entry in batch:
                await self._publish(entry)
                await self._outbox.set_cursor(RELAY, entry.seq)

    async def _publish(self, entry: Entry) -> None:
        delay = 0.2
        while True:
            try:
                await self._bus.publish(entry.event)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "Publishing event %s failed (%s); retrying in %.1fs",
                    entry.event.id,
                    exc or type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)


async def _all(store: ResourceStore, cls: type[R]) -> list[R]:
    items: list[R] = []
    token: str | None = None
    while True:
        page = await store.list(cls, None, limit=_PAGE, continue_token=token)
        items.extend(page.items)
        token = page.continue_token
        if not token:
            return items
