"""Benchmark: API latency with N Ready clusters: p50/p99 of a single-object GET and of a
create, through the real HTTP API (httpx against uvicorn on loopback).

    .venv/bin/python bench/api_latency.py --clusters 10000 [--requests 1000]
        [--database-url URL | --data-dir DIR]

One Orbit process (API, controllers, simulated plane at zero latency) serves; the N clusters
are created through the store (with ``--data-dir``, but those a run before left there) and
reach Ready first, and the controllers come to rest. Then ``--requests`` sequential GETs of
random clusters, then ``--requests`` sequential creates of new clusters (each of which the
controllers then provision, so creates are measured while the plane is busy). Prints one JSON
object.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from pathlib import Path

import httpx
from common import (
    backend,
    cluster,
    create_ready_clusters,
    emit,
    fresh_database,
    machine,
    parser,
    percentile,
    plane_settings,
    serving,
    steady,
    workdir,
)

from orbit.api import v1alpha1

PATH = f"/apis/{v1alpha1.GROUP}/{v1alpha1.VERSION}/namespaces/default/clusterdeployments"


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 2)


async def run(
    clusters: int, requests: int, database_url: str | None, tmp: Path
) -> dict[str, object]:
    async with fresh_database(database_url, tmp) as url:
        settings = plane_settings(tmp, url, ready_recheck=60.0)
        async with serving(settings) as served:
            created, _ = await create_ready_clusters(served.plane.store, clusters)
            fleet = len(created)  # a kept fleet may hold more
            assert served.plane.manager is not None
            await steady(served.plane.manager)
            headers = {"Authorization": f"Bearer {served.token}"}
            rng = random.Random(6)
            gets: list[float] = []
            creates: list[float] = []
            async with httpx.AsyncClient(base_url=served.base, headers=headers, timeout=30) as http:
                for _ in range(requests):
                    name = f"bench-{rng.randrange(clusters):05d}"
                    began = time.perf_counter()
                    response = await http.get(f"{PATH}/{name}")
                    gets.append(time.perf_counter() - began)
                    response.raise_for_status()
                run_id = secrets.token_hex(3)  # a kept --data-dir may hold a run before's
                for i in range(requests):
                    body = cluster(f"api-{run_id}-{i:05d}").to_dict()
                    began = time.perf_counter()
                    response = await http.post(PATH, json=body)
                    creates.append(time.perf_counter() - began)
                    response.raise_for_status()
    return {
        "benchmark": "api_latency",
        "backend": backend(database_url),
        "clusters": fleet,
        "requests": requests,
        "get_p50_ms": _ms(gets, 0.5),
        "get_p99_ms": _ms(gets, 0.99),
        "create_p50_ms": _ms(creates, 0.5),
        "create_p99_ms": _ms(creates, 0.99),
        **machine(),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clusters", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=1000, help="GETs, then as many creates")
    args = p.parse_args()
    with workdir(args.data_dir) as tmp:
        emit(asyncio.run(run(args.clusters, args.requests, args.database_url, tmp)))


if __name__ == "__main__":
    main()
