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
