"""The work queue that feeds reconcilers: client-go's ``workqueue`` semantics, in asyncio.

Controllers are level-based, so the queue holds *keys*, never events: a key added many times
while it waits is handed out once (the reconciler re-reads the store and sees the latest state
anyway). A key that is added while a worker holds it is marked dirty and handed out again only
after ``done(key)``, so one key is never reconciled by two workers at once, yet no change made
during a pass is lost.

Delayed keys (``add_after``) sit in the event loop's own timer heap (one ``call_at`` handle per
key; the earliest deadline wins), so nothing polls. ``add_rate_limited`` delays by a per-key
exponential backoff that ``forget`` resets, the way controller-runtime retries a failed pass.

Two priorities, as controller-runtime's priority queue has: keys added with ``low=True`` (a
periodic resync or a relist: thousands of keys at once, most with nothing to do) are handed
out only when no normal key waits, so a burst of them never delays a key a
change just woke. A low key added again normally is promoted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_BASE_DELAY = 0.05
DEFAULT_MAX_DELAY = 60.0


class ShutDown(Exception):
    """``get()`` on a queue that is shut down and has nothing left to hand out."""


class ExponentialBackoff(Generic[K]):
    """Per-key failure counts; the n-th consecutive failure waits ``base * 2**n`` (capped)."""

    def __init__(
        self, *, base_delay: float = DEFAULT_BASE_DELAY, max_delay: float = DEFAULT_MAX_DELAY
    ) -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        """Count one more failure of ``key`` and return how long to wait before retrying it."""
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        # Cap the exponent: past ~64 doublings every sane max_delay has long been reached, and
        # an unbounded float power would overflow for a key that fails forever.
        return min(self.base_delay * 2.0 ** min(exp, 64), self.max_delay)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def retries(self, key: K) -> int:
        return self._failures.get(key, 0)


class WorkQueue(Generic[K]):
    """A de-duplicating, never-concurrent-per-key queue with delays and per-key backoff."""

    def __init__(
        self, *, base_delay: float = DEFAULT_BASE_DELAY, max_delay: float = DEFAULT_MAX_DELAY
    ) -> None:
        self._queue: deque[K] = deque()
        # Low-priority keys in arrival order; an entry whose key is no longer in _low_keys was
        # promoted (or handed out) and is skipped when reached.
        self._low: deque[K] = deque()
        self._low_keys: set[K] = set()
        # Keys that need processing: waiting in a queue, or held by a worker and changed since.
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._delayed: dict[K, asyncio.TimerHandle] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._backoff: ExponentialBackoff[K] = ExponentialBackoff(
            base_delay=base_delay, max_delay=max_delay
        )
        self._shutting_down = False

    def __len__(self) -> int:
        """Keys ready to be handed out (not counting delayed ones or those being processed)."""
        return len(self._queue) + len(self._low_keys)

    @property
    def delayed(self) -> int:
        """Keys waiting for their ``add_after`` / backoff deadline."""
        return len(self._delayed)

    @property
    def processing(self) -> int:
        return len(self._processing)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: K, *, low: bool = False) -> None:
        """Mark ``key`` as needing a pass; ``low``: after every normal key. Ignored after
        shutdown."""
        if self._shutting_down:
            return
        if key in self._dirty:
            if not low and key in self._low_keys:  # promote: a change outranks a resync
                self._low_keys.discard(key)
                self._queue.append(key)
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # done(key) puts it back (at normal priority: it changed while held)
        if low:
            self._low.append(key)
            self._low_keys.add(key)
        else:
            self._queue.append(key)
        self._wake_one()

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed; an earlier pending deadline wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        pending = self._delayed.get(key)
        if pending is not None:
            if pending.when() <= when:
                return
            pending.cancel()
        self._delayed[key] = loop.call_at(when, self._fire, key)

    def add_rate_limited(self, key: K) -> None:
        """Add ``key`` after its next backoff delay (one more failure counted)."""
        self.add_after(key, self._backoff.when(key))

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff (call after a successful pass)."""
        self._backoff.forget(key)

    def retries(self, key: K) -> int:
        """How many rate-limited re-adds ``key`` has had since it was last forgotten."""
        return self._backoff.retries(key)

    async def get(self) -> K:
        """The next key to process; the caller owns it until ``done(key)``.

        Waits while the queue is empty; raises :class:`ShutDown` once the queue is shut down
        and nothing is left to hand out.
        """
        while not self._queue and not self._low_keys:
            if self._shutting_down:
                raise ShutDown
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # A wake-up meant for us must not be lost: pass it to the next getter.
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()
                raise
        key = self._queue.popleft() if self._queue else self._pop_low()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        """The worker finished with ``key``; re-queue it if it was added meanwhile."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def shutdown(self, *, drain: bool = True) -> None:
        """Stop accepting keys and wake every getter.

        With ``drain`` (client-go's behaviour) getters still receive the keys already waiting,
        then :class:`ShutDown`; without it the waiting keys are dropped, so workers stop taking
        work at once (a graceful stop lets in-flight passes finish, not the backlog).
        """
        self._shutting_down = True
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        if not drain:
            self._queue.clear()
            self._low.clear()
            self._low_keys.clear()
            self._dirty.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _pop_low(self) -> K:
        while True:
            key = self._low.popleft()
            if key in self._low_keys:
                self._low_keys.discard(key)
                return key

    def _fire(self, key: K) -> None:
        self._delayed.pop(key, None)
        self.add(key)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
