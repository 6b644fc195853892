"""Benchmark: N clusters from create to Ready against the simulated plane with zero
provisioning latency, i.e. the pure control-plane cost (admission, store, controllers, provider).

    .venv/bin/python bench/provision.py --clusters 1000 [--database-url postgresql://...]
    .venv/bin/python bench/provision.py --clusters 1000 --database-url ... --processes 2
        [--data-dir DIR]

Prints one JSON object: total seconds, clusters/s, p50/p99 seconds from create to Ready, and
the store's writes per second over the run. With one process (default) admission, the store
and the controllers run in this process, as ``orbit up`` does (no HTTP). With
``--processes N`` (PostgreSQL only) this process admits and writes the clusters and N
``orbit server --role controllers`` subprocesses reconcile them, splitting the shards; with
``--data-dir`` its PostgreSQL database is kept, and the fleet serves ``idle.py``,
``restart.py`` and ``api_latency.py --split`` with the same ``--processes`` and ``--data-dir``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from common import (
    ReadyWatch,
    backend,
    check_processes,
    cluster,
    emit,
    fresh_database,
    machine,
    orbit_processes,
    parser,
    percentile,
    workdir,
)

from orbit import catalog, controllers
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.config import ControllerSettings, Settings
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.simplane import SimPlane, SimPlaneSettings
from orbit.store import open_store


async def run(
    clusters: int,
    database_url: str | None,
    workers: int,
    tmp: Path,
    processes: int = 1,
    keep: bool = False,
) -> dict[str, object]:
    check_processes(processes, database_url)
    if keep and processes == 1:
        raise SystemExit("--data-dir keeps the fleet of --processes 2 or more only")
    async with fresh_database(database_url, tmp, keep=keep) as url:
        store = await open_store(url or f"sqlite:///{tmp / 'orbit.db'}")
        if (await store.list(v1alpha1.ClusterDeployment, "default")).items:
            await store.close()
            raise SystemExit(f"provisioning is measured from an empty store; {tmp} has a fleet")
        sim_url = url if processes > 1 and url else str(tmp / "sim.db")
        sim = await SimPlane.open(SimPlaneSettings(database_url=sim_url, node_latency=0))
        providers = ProviderRegistry()
        providers.register(SimProvider(sim))
        await catalog.install(store)
        admission = Admission(store, providers=providers.names())
        settings = Settings(
            controllers=ControllerSettings(workers=workers, poll_interval=0.05, ready_recheck=3600)
        )
        async with contextlib.AsyncExitStack() as stack:
            if processes > 1:
                await stack.enter_async_context(
                    orbit_processes(["controllers"] * processes, url, tmp, sim_database_url=url)
                )
            else:
                manager = controllers.build_manager(store, providers, settings)
                await manager.start()
                stack.push_async_callback(manager.stop)
            start_revision = await store.revision()
            watch = ReadyWatch(store, start_revision)
            created: dict[str, float] = {}
            began = time.perf_counter()
            for i in range(clusters):
                obj = cluster(f"bench-{i:05d}")
                await admission.admit(obj, None)
                created[obj.metadata.name] = time.perf_counter()
                await store.create(obj)
            await watch.wait(created, timeout=3600)
            total = time.perf_counter() - began
            writes = await store.revision() - start_revision
        await sim.close()
        await store.close()
    latencies = [watch.ready[n] - created[n] for n in created]
    return {
        "benchmark": "provision",
        "backend": backend(database_url),
        "processes": processes,
        "clusters": clusters,
        "controller_workers": workers,
        "total_s": round(total, 2),
        "clusters_per_s": round(clusters / total, 1),
        "p50_to_ready_s": round(percentile(latencies, 0.50), 3),
        "p99_to_ready_s": round(percentile(latencies, 0.99), 3),
        "store_writes": writes,
        "store_writes_per_s": round(writes / total, 1),
        **machine(),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clusters", type=int, default=1000)
    p.add_argument("--workers", type=int, default=16, help="reconcile workers per controller")
    args = p.parse_args()
    with workdir(args.data_dir) as tmp:
        result = run(
            args.clusters,
            args.database_url,
            args.workers,
            tmp,
            args.processes,
            keep=args.data_dir is not None,
        )
        emit(asyncio.run(result))


if __name__ == "__main__":
    main()
