"""Benchmark: the idle cost of N Ready clusters: CPU (cores) and resident memory of the Orbit
processes over some minutes of steady state (the controllers' periodic Ready re-checks,
resyncs and the feed poll), read with psutil.

    .venv/bin/python bench/idle.py --clusters 10000 [--minutes 5]
        [--database-url URL [--processes 2]] [--data-dir DIR]

With one process (default), Orbit (API, controllers, simulated plane at zero latency,
re-checking each Ready cluster as by default) is this process. With ``--processes N``
(PostgreSQL), the fleet is set up here, then N ``orbit server --role controllers`` processes
and one ``--role api`` process run it and this one only watches them. Measuring starts once
every cluster is Ready and the controllers are at rest (every cluster had its pass, queues
empty; with ``--data-dir``, the clusters a run before left there count); the processes' CPU
time and RSS are summed and sampled every second for ``--minutes``. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

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
    rss_and_cpu,
    serving,
    steady,
    workdir,
)

MIB = 1024 * 1024


async def run(
    clusters: int,
    minutes: float,
    database_url: str | None,
    tmp: Path,
    processes: int = 1,
    keep: bool = False,
) -> dict[str, object]:
    check_processes(processes, database_url)
    async with fresh_database(database_url, tmp, keep=keep) as url:
        began = time.perf_counter()
        if processes == 1:
            settings = plane_settings(tmp, url, ready_recheck=60.0)
            async with serving(settings) as served:
                created, _ = await create_ready_clusters(served.plane.store, clusters)
                clusters = len(created)  # a kept fleet may hold more
                assert served.plane.manager is not None
                await steady(served.plane.manager)
                to_ready = time.perf_counter() - began
                measured = await _measure([None], minutes, to_ready)
        else:
            assert url is not None
            clusters = await postgres_fleet(url, tmp, clusters)
            roles = ["controllers"] * processes + ["api"]
            async with orbit_processes(
                roles, url, tmp, sim_database_url=url, ready_recheck=60.0
            ) as procs:
                await processes_steady(
                    [port for _, port in procs[:processes]], cluster_passes=clusters
                )
                to_ready = time.perf_counter() - began
                measured = await _measure([p.pid for p, _ in procs], minutes, to_ready)
    return {
        "benchmark": "idle",
        "backend": backend(database_url),
        "processes": processes,
        "clusters": clusters,
        "minutes": minutes,
        "setup_to_ready_s": round(to_ready, 1),
        **measured,
        **machine(),
    }


async def _measure(pids: list[int | None], minutes: float, to_ready: float) -> dict[str, float]:
    """CPU cores and resident MiB of ``pids`` (None: this process) together, over ``minutes``."""
    print(f"steady after {to_ready:.1f} s; measuring", file=sys.stderr, flush=True)

    def sample() -> tuple[int, float]:
        found = [rss_and_cpu(pid) for pid in pids]
        return sum(r for r, _ in found), sum(c for _, c in found)

    rss0, cpu0 = sample()
    start = time.perf_counter()
    peak = rss0
    while time.perf_counter() - start < minutes * 60:
        await asyncio.sleep(1.0)
        peak = max(peak, sample()[0])
    rss1, cpu1 = sample()
    elapsed = time.perf_counter() - start
    return {
        "cpu_cores": round((cpu1 - cpu0) / elapsed, 3),
        "rss_mib": round(rss1 / MIB, 1),
        "rss_peak_mib": round(peak / MIB, 1),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clusters", type=int, default=10_000)
    p.add_argument("--minutes", type=float, default=5.0, help="how long to measure")
    args = p.parse_args()
    with workdir(args.data_dir) as tmp:
        result = run(
            args.clusters,
            args.minutes,
            args.database_url,
            tmp,
            args.processes,
            keep=args.data_dir is not None,
        )
        emit(asyncio.run(result))


if __name__ == "__main__":
    main()
