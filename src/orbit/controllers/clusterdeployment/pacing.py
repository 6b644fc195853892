"""Pacing of Ready clusters' health checks: each one every ``interval`` seconds, but never more
than ``rate`` checks a second in all, across every controller process.

A Ready cluster is re-observed on a timer. At 60 s and 1,000 clusters that is 17 checks a
second, cheap; at 10,000 it is 167, and the checks alone would keep most of a core busy in a
controller process. Past ``interval x rate`` clusters each cluster's period grows with the fleet
(10,000 clusters at 50 checks/s: every 200 s), with a little jitter so the checks stay spread
out. Changes still wake a cluster at once through the watches; only the health poll slows.
Cluster API resyncs every 10 minutes and Argo CD refreshes every 3 for the same reason.

With several controller processes, each holds a share of the shards and of the clusters, and
checks at ``rate`` times its share of the shards: the fleet's period and total rate are the
same as one process's. When the shards a process holds change, the clusters of shards it no
longer holds leave its count.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

Key = tuple[str, str]  # (namespace, name)


class Shards(Protocol):
    """This process's shard membership (:class:`orbit.runtime.sharding.ShardMember`)."""

    @property
    def shards(self) -> int: ...

    def held(self) -> frozenset[int]: ...

    def owns(self, namespace: str, name: str) -> bool: ...


class HealthPacer:
    """Counts the clusters whose last pass ended Ready and spaces their next checks."""

    def __init__(
        self,
        interval: float,
        rate: float,
        *,
        shards: Shards | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.interval = interval
        self.rate = rate
        self._shards = shards
        self._rng = rng
        self._ready: set[Key] = set()
        self._held: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self._ready)

    def forget(self, key: Key) -> None:
        """The cluster's pass did not end Ready (or it is gone)."""
        self._ready.discard(key)

    def next_check(self, key: Key) -> float:
        """The cluster's pass ended Ready: seconds until its next health check."""
        self._ready.add(key)
        share = self._share()  # first: it may drop clusters of shards handed over
        paced = len(self._ready) / (self.rate * share)
        if paced <= self.interval:
            return self.interval
        return paced * (0.9 + 0.2 * self._rng())  # spread the checks out, +/- 10 %

    def _share(self) -> float:
        """This process's share of the shards (1 without sharding), after dropping the
        clusters of shards it no longer holds when those changed."""
        shards = self._shards
        if shards is None:
            return 1.0
        held = shards.held()
        if held != self._held:
            self._held = held
            self._ready = {k for k in self._ready if shards.owns(*k)}
        return max(1, len(held)) / shards.shards
