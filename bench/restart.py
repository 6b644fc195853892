"""Benchmark: restart with N Ready clusters: time from start to a fully resynced steady state.

    .venv/bin/python bench/restart.py --clusters 10000
        [--database-url URL [--processes 2]] [--data-dir DIR]

A first Orbit Plane (store, simulated plane at zero latency, every controller) brings N
clusters to Ready and stops (with ``--data-dir``, only if the clusters a run before left there
are fewer). Then Orbit starts again on the same databases: in this process (default), or as
``--processes N`` ``orbit server --role controllers`` processes (PostgreSQL). The clock runs
from that start until every controller has listed its kind (and, with processes, every shard
is held and each process holds some), the clusters' passes add up to N (every cluster had
one) and every work queue is empty with nothing in flight; processes report these on their
``/metrics``. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from common import (
    backend,
    check_processes,
    create_ready_clusters,
    emit,
    fresh_database,
    machine,
    orbit_processes,
    parser,
    plane_settings,
    postgres_fleet,
    processes_steady,
    ready_count,
    rss_and_cpu,
    scrape,
    steady,
    workdir,
)

from orbit.server.runner import running

MIB = 1024 * 1024


async def run(
    clusters: int,
    database_url: str | None,
    tmp: Path,
    processes: int = 1,
    keep: bool = False,
) -> dict[str, object]:
    check_processes(processes, database_url)
    async with fresh_database(database_url, tmp, keep=keep) as url:
        if processes > 1:
            assert url is not None
            clusters = await postgres_fleet(url, tmp, clusters)
            began = time.perf_counter()
            roles = ["controllers"] * processes
            async with orbit_processes(
                roles, url, tmp, sim_database_url=url, ready_recheck=60.0
            ) as procs:
                opened = time.perf_counter() - began
                await processes_steady([port for _, port in procs], cluster_passes=clusters)
                total = time.perf_counter() - began
                rss = sum(rss_and_cpu(p.pid)[0] for p, _ in procs)
                async with httpx.AsyncClient(timeout=10) as http:
                    found = [await scrape(http, port) for _, port in procs]
                passes = int(
                    sum(
                        value
                        for metrics in found
                        for (name, _), value in metrics.items()
                        if name == "orbit_controller_reconciles_total"
                    )
                )
        else:
            setup = plane_settings(tmp, url, ready_recheck=3600.0)
            # The set-up is not measured: no health re-checks while the clusters come up (at
            # 10,000 they would slow it several-fold); the restarted plane re-checks as by
            # default.
            if await ready_count(setup.store_url()) < clusters:
                async with running(setup) as plane:
                    await create_ready_clusters(plane.store, clusters)
            clusters = await ready_count(setup.store_url())  # a kept fleet may hold more
            controllers = setup.controllers.model_copy(update={"ready_recheck": 60.0})
            settings = setup.model_copy(update={"controllers": controllers})
            began = time.perf_counter()
            async with running(settings) as plane:
                opened = time.perf_counter() - began
                manager = plane.manager
                assert manager is not None
                await steady(manager, cluster_passes=clusters)  # every cluster had its pass
                total = time.perf_counter() - began
                rss, _ = rss_and_cpu()
                passes = sum(c.stats.reconciles for c in manager.controllers)
    return {
        "benchmark": "restart",
        "backend": backend(database_url),
        "processes": processes,
        "clusters": clusters,
        "open_s": round(opened, 2),
        "resynced_s": round(total, 2),
        "reconciles": passes,
        "rss_mib": round(rss / MIB, 1),
        **machine(),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clusters", type=int, default=10_000)
    args = p.parse_args()
    with workdir(args.data_dir) as tmp:
        result = run(
            args.clusters, args.database_url, tmp, args.processes, keep=args.data_dir is not None
        )
        emit(asyncio.run(result))


if __name__ == "__main__":
    main()
