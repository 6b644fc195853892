"""One reader of the change feed per store, shared by every watcher in the process.

Every controller, API watch stream and benchmark follower watches the feed. Polling the
database once per watcher per write multiplied each write into several feed queries (profiling
the delivery benchmark put that first). The hub reads each change once, keeps the recent ones
in memory in revision order, and wakes the watchers, which filter and yield from memory.

Invariant: the buffer holds every change in ``(floor, cursor]``. A watcher whose position is
inside that range is served from memory; one that is behind ``floor`` (it started from an old
revision, or fell behind a full buffer) reads from the database as before, which also enforces
the Gone rule, until it catches up; it reads no further than ``cursor``, so no watcher in the
process is ever ahead of the hub (the informer cache, :mod:`orbit.runtime.cache`, relies on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from orbit import errors
from orbit.store import feed
from orbit.store.base import WatchEvent

log = logging.getLogger("orbit.store")

Poller = Callable[[int], Awaitable[feed.Poll]]
Head = Callable[[], Awaitable[int]]


class FeedHub:
    def __init__(
        self, poll: Poller, head: Head, *, start: int, interval: float, capacity: int = 20_000
    ) -> None:
        self._poll = poll
        self._head = head
        self._interval = interval
        self.floor = start  # every change after floor, up to cursor, is in the buffer
        self.cursor = start
        self._buffer: deque[WatchEvent] = deque()
        self._capacity = capacity
        self._wake = asyncio.Event()  # set by writers in this process
        self._moved = asyncio.Event()  # replaced each time the cursor moves
        self._task = asyncio.create_task(self._pump(), name="orbit-feed-hub")

    def poke(self) -> None:
        """A write committed in this process: read the feed now."""
        self._wake.set()

    def _trim(self) -> None:
        while len(self._buffer) > self._capacity:
            self.floor = self._buffer.popleft().revision

    def moved(self) -> asyncio.Event:
        """An event set the next time the cursor moves."""
        return self._moved

    def since(self, revision: int) -> list[WatchEvent] | None:
        """The buffered changes after ``revision``; None when the buffer no longer reaches
        back that far (read the database instead)."""
        if revision < self.floor:
            return None
        newer: list[WatchEvent] = []  # readers are mostly near the head: walk back from it
        for event in reversed(self._buffer):
            if event.revision <= revision:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def _announce(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def close(self) -> None:
        self._moved.set()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _pump(self) -> None:
        while True:
            self._wake.clear()
            try:
                result = await self._poll(self.cursor)
            except asyncio.CancelledError:
                raise
            except errors.Gone:
                # Out of reach for longer than the feed keeps changes: start over at the head;
                # watchers behind it read the database and are told Gone there.
                result = None
                with contextlib.suppress(Exception):
                    self.floor = self.cursor = await self._head()
                    self._buffer.clear()
                    self._announce()
            except Exception as err:  # the database is away: watchers wait, we retry
                log.warning("Reading the change feed failed, retrying: %s", err)
                result = None
            if result is not None and result.seen > self.cursor:
                self._buffer.extend(result.events)
                self._trim()
                self.cursor = result.seen
                self._announce()
                if len(result.events) == feed.BATCH:
                    continue  # more to read at once
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
