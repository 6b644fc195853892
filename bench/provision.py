"""Benchmark: N clusters from create to Ready against the simulated plane with zero
provisioning latency, i.e. the pure control-plane cost (admission, store, controller, provider).

    .venv/bin/python bench/provision.py --clusters 1000 [--database-url postgresql://...]

Prints one JSON object: total seconds, clusters/s, p50/p99 seconds from create to Ready, and
the store's writes per second over the run. Runs in one process (no HTTP), as a controller
process would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from orbit import catalog, controllers
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.config import ControllerSettings, Settings
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.simplane import SimPlane, SimPlaneSettings
from orbit.store import open_store


async def run(
    clusters: int, database_url: str | None, workers: int, tmp: Path
) -> dict[str, object]:
    store = await open_store(database_url or f"sqlite:///{tmp / 'orbit.db'}")
    sim = await SimPlane.open(SimPlaneSettings(database_url=str(tmp / "sim.db"), node_latency=0))
    providers = ProviderRegistry()
    providers.register(SimProvider(sim))
    await catalog.install(store)
    admission = Admission(store, providers=providers.names())
    settings = Settings(
        controllers=ControllerSettings(workers=workers, poll_interval=0.05, ready_recheck=3600)
    )
    manager = controllers.build_manager(store, providers, settings)
    start_revision = await store.revision()
    await manager.start()
    created: dict[str, float] = {}
    ready: dict[str, float] = {}

    async def follow() -> None:
        async for event in store.watch((v1alpha1.ClusterDeployment,), since=start_revision):
            obj = event.object
            assert isinstance(obj, v1alpha1.ClusterDeployment)
            if obj.status.phase == v1alpha1.Phase.READY and obj.metadata.name not in ready:
                ready[obj.metadata.name] = time.perf_counter()
                if len(ready) == clusters:
                    return

    follower = asyncio.create_task(follow())
    began = time.perf_counter()
    for i in range(clusters):
        name = f"bench-{i:05d}"
        obj = v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
            spec=v1alpha1.ClusterDeploymentSpec(
                template="sim-single-1-0-0", credential="sim", config={"workers": 1}
            ),
        )
        await admission.admit(obj, None)
        created[name] = time.perf_counter()
        await store.create(obj)
    await follower
    total = time.perf_counter() - began
    writes = await store.revision() - start_revision
    await manager.stop()
    await sim.close()
    await store.close()
    latencies = sorted(ready[n] - created[n] for n in created)
    return {
        "benchmark": "provision",
        "backend": "postgresql" if database_url else "sqlite",
        "clusters": clusters,
        "controller_workers": workers,
        "total_s": round(total, 2),
        "clusters_per_s": round(clusters / total, 1),
        "p50_to_ready_s": round(statistics.median(latencies), 3),
        "p99_to_ready_s": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        "store_writes": writes,
        "store_writes_per_s": round(writes / total, 1),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args.clusters, args.database_url, args.workers, Path(tmp)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
