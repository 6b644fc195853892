"""Benchmark: API latency with N Ready clusters: p50/p99 of a single-object GET and of a
create, through the real HTTP API (httpx against uvicorn on loopback).

    .venv/bin/python bench/api_latency.py --clusters 10000 [--requests 1000]
        [--database-url URL [--split [--processes 2]]] [--data-dir DIR]

One Orbit process (API, controllers, simulated plane at zero latency) serves; the N clusters
are created through the store (with ``--data-dir``, but those a run before left there) and
reach Ready first, and the controllers come to rest. Then ``--requests`` sequential GETs of
random clusters, then ``--requests`` sequential creates of new clusters (each of which the
controllers then provision, so creates are measured while the plane is busy). With
``--split`` (PostgreSQL), as production runs it: an ``orbit server --role api`` process
serves the requests while ``--processes`` ``--role controllers`` processes reconcile (they
have come to rest first). Prints one JSON object.
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
    check_processes,
    cluster,
    create_ready_clusters,
    emit,
    fresh_database,
    machine,
    orbit_processes,
    parser,
    percentile,
    plane_settings,
    postgres_fleet,
    processes_steady,
    serving,
    steady,
    workdir,
)

from orbit.api import v1alpha1

PATH = f"/apis/{v1alpha1.GROUP}/{v1alpha1.VERSION}/namespaces/default/clusterdeployments"


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 2)


async def run(
    clusters: int,
    requests: int,
    database_url: str | None,
    tmp: Path,
    split: bool = False,
    processes: int = 1,
    keep: bool = False,
) -> dict[str, object]:
    check_processes(processes, database_url)
    if processes > 1 and not split:
        raise SystemExit("--processes 2 or more runs the API in its own process: add --split")
    async with fresh_database(database_url, tmp, keep=keep) as url:
        if split:
            if url is None:
                raise SystemExit("--split needs --database-url (PostgreSQL)")
            fleet, gets, creates = await _split(clusters, requests, url, tmp, processes)
        else:
            settings = plane_settings(tmp, url, ready_recheck=60.0)
            async with serving(settings) as served:
                created, _ = await create_ready_clusters(served.plane.store, clusters)
                fleet = len(created)  # a kept fleet may hold more
                assert served.plane.manager is not None
                await steady(served.plane.manager)
                gets, creates = await _measure(served.base, served.token, clusters, requests)
    return {
        "benchmark": "api_latency",
        "backend": backend(database_url),
        "processes": f"api+{processes} controllers" if split else "all",
        "clusters": fleet,
        "requests": requests,
        "get_p50_ms": _ms(gets, 0.5),
        "get_p99_ms": _ms(gets, 0.99),
        "create_p50_ms": _ms(creates, 0.5),
        "create_p99_ms": _ms(creates, 0.99),
        **machine(),
    }


async def _split(
    clusters: int, requests: int, url: str, tmp: Path, processes: int
) -> tuple[int, list[float], list[float]]:
    """Production's shape: the fleet is set up in this process, then an ``api`` process and
    ``processes`` ``controllers`` processes serve it and this one only sends the requests."""
    fleet = await postgres_fleet(url, tmp, clusters)
    roles = ["controllers"] * processes + ["api"]
    async with orbit_processes(roles, url, tmp, sim_database_url=url, ready_recheck=60.0) as procs:
        await processes_steady([port for _, port in procs[:processes]], cluster_passes=fleet)
        api_port = procs[-1][1]
        token = (tmp / "admin.token").read_text().strip()
        gets, creates = await _measure(f"http://127.0.0.1:{api_port}", token, clusters, requests)
    return fleet, gets, creates


async def _measure(
    base: str, token: str, clusters: int, requests: int
) -> tuple[list[float], list[float]]:
    """``requests`` GETs of random clusters, then as many creates: their latencies (s)."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(6)
    gets: list[float] = []
    creates: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
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
    return gets, creates


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clusters", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=1000, help="GETs, then as many creates")
    p.add_argument(
        "--split",
        action="store_true",
        help="serve from an `orbit server --role api` process and reconcile in "
        "`--role controllers` ones (--processes, default 1), as in production (PostgreSQL only)",
    )
    args = p.parse_args()
    with workdir(args.data_dir) as tmp:
        result = run(
            args.clusters,
            args.requests,
            args.database_url,
            tmp,
            args.split,
            args.processes,
            keep=args.data_dir is not None,
        )
        emit(asyncio.run(result))


if __name__ == "__main__":
    main()
