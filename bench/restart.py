"""Benchmark: restart with N Ready clusters: time from start to a fully resynced steady state.

    .venv/bin/python bench/restart.py --clusters 10000 [--database-url URL | --data-dir DIR]

A first Orbit Plane (store, simulated plane at zero latency, every controller) brings N
clusters to Ready and stops (with ``--data-dir``, only if the clusters a run before left there
are fewer). A second one starts on the same databases; the clock runs from
its start until every controller has listed its kind, every cluster has had a reconcile pass
(the cluster controller's pass count reaches N) and every work queue is empty with nothing in
flight. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from common import (
    backend,
    create_ready_clusters,
    emit,
    fresh_database,
    machine,
    parser,
    plane_settings,
    rss_and_cpu,
    steady,
    workdir,
)

from orbit.api import v1alpha1
from orbit.server.runner import running
from orbit.store import open_store

MIB = 1024 * 1024


async def run(clusters: int, database_url: str | None, tmp: Path) -> dict[str, object]:
    async with fresh_database(database_url, tmp) as url:
        # The set-up is not measured: no health re-checks while the clusters come up (at
        # 10,000 they would slow it several-fold); the restarted plane re-checks as by default.
        setup = plane_settings(tmp, url, ready_recheck=3600.0)
        if await _ready_clusters(setup.store_url()) < clusters:
            async with running(setup) as plane:
                await create_ready_clusters(plane.store, clusters)
        clusters = await _ready_clusters(setup.store_url())  # a kept fleet may hold more
        settings = setup.model_copy(
            update={"controllers": setup.controllers.model_copy(update={"ready_recheck": 60.0})}
        )
        began = time.perf_counter()
        async with running(settings) as plane:
            opened = time.perf_counter() - began
            manager = plane.manager
            assert manager is not None
            await steady(manager, cluster_passes=clusters)  # every cluster had its pass
            stats = [c.stats for c in manager.controllers]
            total = time.perf_counter() - began
            rss, _ = rss_and_cpu()
            passes = sum(s.reconciles for s in stats)
    return {
        "benchmark": "restart",
        "backend": backend(database_url),
        "clusters": clusters,
        "open_s": round(opened, 2),
        "resynced_s": round(total, 2),
        "reconciles": passes,
        "rss_mib": round(rss / MIB, 1),
        **machine(),
    }


async def _ready_clusters(store_url: str) -> int:
    store = await open_store(store_url)
    try:
        items = (await store.list(v1alpha1.ClusterDeployment, "default")).items
        return sum(c.status.phase == v1alpha1.Phase.READY for c in items)
    finally:
        await store.close()


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clusters", type=int, default=10_000)
    args = p.parse_args()
    with workdir(args.data_dir) as tmp:
        emit(asyncio.run(run(args.clusters, args.database_url, tmp)))


if __name__ == "__main__":
    main()
