"""Benchmark: the idle cost of N Ready clusters: CPU (cores) and resident memory of the Orbit
process over some minutes of steady state (the controllers' periodic Ready re-checks, resyncs
and the feed poll), read with psutil.

    .venv/bin/python bench/idle.py --clusters 10000 [--minutes 5]
        [--database-url URL | --data-dir DIR]

One Orbit process (API, controllers, simulated plane at zero latency, re-checking each Ready
cluster every 60 s as by default) is this process; after every cluster is Ready and its
controllers are at rest (with ``--data-dir``, the clusters a run before left there count) it
does nothing but serve, and its CPU time and RSS are sampled every second for ``--minutes``.
Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import sys
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
    serving,
    steady,
    workdir,
)

MIB = 1024 * 1024


async def run(
    clusters: int, minutes: float, database_url: str | None, tmp: Path
) -> dict[str, object]:
    async with fresh_database(database_url, tmp) as url:
        settings = plane_settings(tmp, url, ready_recheck=60.0)
        async with serving(settings) as served:
            began = time.perf_counter()
            created, _ = await create_ready_clusters(served.plane.store, clusters)
            clusters = len(created)  # a kept fleet may hold more
            assert served.plane.manager is not None
            await steady(served.plane.manager)
            to_ready = time.perf_counter() - began
            print(f"steady after {to_ready:.1f} s; measuring", file=sys.stderr, flush=True)
            rss0, cpu0 = rss_and_cpu()
            start = time.perf_counter()
            peak = rss0
            while time.perf_counter() - start < minutes * 60:
                await asyncio.sleep(1.0)
                peak = max(peak, rss_and_cpu()[0])
            rss1, cpu1 = rss_and_cpu()
            elapsed = time.perf_counter() - start
    return {
        "benchmark": "idle",
        "backend": backend(database_url),
        "clusters": clusters,
        "minutes": minutes,
        "setup_to_ready_s": round(to_ready, 1),
        "cpu_cores": round((cpu1 - cpu0) / elapsed, 3),
        "rss_mib": round(rss1 / MIB, 1),
        "rss_peak_mib": round(peak / MIB, 1),
        **machine(),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clusters", type=int, default=10_000)
    p.add_argument("--minutes", type=float, default=5.0, help="how long to measure")
    args = p.parse_args()
    with workdir(args.data_dir) as tmp:
        emit(asyncio.run(run(args.clusters, args.minutes, args.database_url, tmp)))


if __name__ == "__main__":
    main()
