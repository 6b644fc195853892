"""Health-check pacing: a small fleet is checked every ``interval``; a large one at no more
than ``rate`` checks a second in all, spread out, and only Ready clusters count."""

from __future__ import annotations

from orbit.controllers.clusterdeployment.pacing import HealthPacer


def test_a_small_fleet_is_checked_every_interval() -> None:
    pacer = HealthPacer(60.0, 50.0, rng=lambda: 0.5)
    delays = [pacer.next_check(("default", f"c{i}")) for i in range(3000)]
    assert set(delays) == {60.0}  # 3,000 x (1/60 s) = 50 checks/s: at the budget, not past it


def test_a_large_fleet_stays_within_the_rate() -> None:
    pacer = HealthPacer(60.0, 50.0, rng=lambda: 0.5)
    for i in range(10_000):
        last = pacer.next_check(("default", f"c{i}"))
    assert last == 200.0  # 10,000 clusters at 50/s: each every 200 s
    assert len(pacer) / last <= 50.0
    # The same cluster checked again does not count twice.
    assert pacer.next_check(("default", "c0")) == 200.0 and len(pacer) == 10_000


def test_jitter_spreads_the_checks_and_only_ready_clusters_count() -> None:
    draws = iter([0.0, 1.0])
    pacer = HealthPacer(1.0, 1.0, rng=lambda: next(draws))
    pacer.next_check(("a", "x"))
    assert pacer.next_check(("a", "y")) == 2.0 * 0.9  # two Ready clusters at 1/s: ~2 s
    assert pacer.next_check(("a", "z")) == 3.0 * 1.1
    pacer.forget(("a", "y"))
    pacer.forget(("a", "z"))
    pacer.forget(("a", "gone"))  # unknown keys are fine
    assert len(pacer) == 1 and pacer.next_check(("a", "x")) == 1.0


class FakeShards:
    """Shard membership: ``mine`` of 16 shards held; a key's shard is its name's number % 16."""

    shards = 16

    def __init__(self, mine: set[int]) -> None:
        self.mine = mine

    def held(self) -> frozenset[int]:
        return frozenset(self.mine)

    def owns(self, namespace: str, name: str) -> bool:
        return int(name[1:]) % 16 in self.mine


def test_processes_sharing_the_shards_share_the_rate() -> None:
    """Two processes, 8 shards and 5,000 Ready clusters each: each checks its clusters every
    200 s, as one process with all 10,000 would, so the fleet gets 50 checks/s, not 100."""
    pacers = [
        HealthPacer(60.0, 50.0, shards=FakeShards(set(range(8 * i, 8 * i + 8))), rng=lambda: 0.5)
        for i in range(2)
    ]
    for i in range(10_000):
        pacer = pacers[0] if i % 16 < 8 else pacers[1]
        last = pacer.next_check(("default", f"c{i}"))
    assert [len(p) for p in pacers] == [5000, 5000]
    assert last == 200.0
    assert sum(len(p) / p.next_check(("default", f"c{8 * i}")) for i, p in enumerate(pacers)) == 50


def test_clusters_of_shards_handed_over_stop_counting() -> None:
    shards = FakeShards(set(range(16)))
    pacer = HealthPacer(60.0, 1.0, shards=shards, rng=lambda: 0.5)
    for i in range(160):
        pacer.next_check(("default", f"c{i}"))
    assert pacer.next_check(("default", "c0")) == 160.0  # 160 clusters at 1/s
    shards.mine = set(range(8))  # half the shards went to another process
    # 80 clusters left, on half the shards: half the rate, the same 160 s period.
    assert pacer.next_check(("default", "c0")) == 160.0 and len(pacer) == 80
