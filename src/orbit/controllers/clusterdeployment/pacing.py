"""Pacing of Ready clusters' health checks: each one every ``interval`` seconds, but never more
than ``rate`` checks a second in all.

A Ready cluster is re-observed on a timer. At 60 s and 1,000 clusters that is 17 checks a
second, cheap; at 10,000 it is 167, and the checks alone would keep most of a core busy in a
controller process. Past ``interval x rate`` clusters each cluster's period grows with the fleet
(10,000 clusters at 50 checks/s: every 200 s), with a little jitter so the checks stay spread
out. Changes still wake a cluster at once through the watches; only the health poll slows.
Cluster API resyncs every 10 minutes and Argo CD refreshes every 3 for the same reason.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Key = tuple[str, str]  # (namespace, name)


class HealthPacer:
    """Counts the clusters whose last pass ended Ready and spaces their next checks."""

    def __init__(
        self, interval: float, rate: float, *, rng: Callable[[], float] = random.random
    ) -> None:
        self.interval = interval
        self.rate = rate
        self._rng = rng
        self._ready: set[Key] = set()

    def __len__(self) -> int:
        return len(self._ready)

    def forget(self, key: Key) -> None:
        """The cluster's pass did not end Ready (or it is gone)."""
        self._ready.discard(key)

    def next_check(self, key: Key) -> float:
        """The cluster's pass ended Ready: seconds until its next health check."""
        self._ready.add(key)
        paced = len(self._ready) / self.rate
        if paced <= self.interval:
            return self.interval
        return paced * (0.9 + 0.2 * self._rng())  # spread the checks out, +/- 10 %
