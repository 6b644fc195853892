"""Benchmark: ServiceTemplates delivered to clusters, time until every delivery is Deployed.

    .venv/bin/python bench/delivery.py [--templates 50] [--clusters 50]
        [--database-url URL [--processes 2]]
    .venv/bin/python bench/delivery.py --templates 100 --clusters 100 --objects configmap

The default is 50 templates (a Deployment and a ConfigMap each) x 50 clusters, 2,500
deliveries: the scenario of Fleet's own QA runs. ``--objects configmap --templates 100
--clusters 100`` is 10,000 single-ConfigMap services over 100 clusters: Argo CD's published
scenario.

Runs the real Orbit Plane composition in one process (store, sim plane with zero node and pod
latency, every controller, the delivery engine applying over HTTPS to each cluster's Kubernetes
API), without the REST API; with ``--processes N`` (PostgreSQL), N ``orbit server --role
controllers`` processes do that and this one only writes and watches the store. One
MultiClusterService per template selects every cluster. Prints one JSON object
(``--data-dir`` is not used: each run starts from an empty store).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from common import (
    backend,
    check_processes,
    emit,
    fresh_database,
    machine,
    orbit_processes,
    parser,
    plane_settings,
)

from orbit import catalog
from orbit.api import selectors, v1alpha1
from orbit.server.runner import running
from orbit.store import open_store
from orbit.store.base import ResourceStore

R = TypeVar("R", bound=v1alpha1.Resource)

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {{name: app-{i}-config}}
data: {{cluster: "{{{{ cluster.name }}}}"}}
"""

TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{i}, labels: {{app: app-{i}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{i}}}}}
    spec:
      containers:
      - {{name: app, image: "nginx:1.27", resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: app-{i}-config}}
data: {{cluster: "{{{{ cluster.name }}}}"}}
"""


async def wait_all(
    store: ResourceStore,
    kind: type[R],
    done: Callable[[list[R]], bool],
    deadline: float = math.inf,
) -> list[R]:
    """Poll until ``done`` holds for every ``kind`` object, or until ``deadline``
    (``time.monotonic()``); returns the last list read."""
    while True:
        items = (await store.list(kind, "default")).items
        if done(items) or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.5)


def _deployed(mcs: v1alpha1.MultiClusterService) -> int:
    return sum(c.state == v1alpha1.ServiceState.DEPLOYED for c in mcs.status.clusters)


async def run(
    templates: int,
    clusters: int,
    database_url: str | None,
    tmp: Path,
    objects: str = "both",
    minutes: float = math.inf,
    processes: int = 1,
) -> dict[str, object]:
    check_processes(processes, database_url)
    async with fresh_database(database_url, tmp) as url, contextlib.AsyncExitStack() as stack:
        if processes == 1:
            settings = plane_settings(tmp, url)
            # The feed poll of the runs recorded before (the processes poll every 0.05 s).
            poll = settings.controllers.model_copy(update={"poll_interval": 0.2})
            settings = settings.model_copy(update={"controllers": poll})
            plane = await stack.enter_async_context(running(settings))
            store: ResourceStore = plane.store
        else:
            assert url is not None
            store = await open_store(url)
            stack.push_async_callback(store.close)
            await catalog.install(store)
            roles = ["controllers"] * processes
            await stack.enter_async_context(orbit_processes(roles, url, tmp, sim_database_url=url))
        result = await _run(store, templates, clusters, objects, minutes)
    return {
        "benchmark": "delivery",
        "backend": backend(database_url),
        "processes": processes,
        **result,
        **machine(),
    }


async def _run(
    store: ResourceStore, templates: int, clusters: int, objects: str, minutes: float
) -> dict[str, object]:
    body = CONFIGMAP if objects == "configmap" else TEMPLATE
    for i in range(clusters):
        await store.create(
            v1alpha1.ClusterDeployment(
                metadata=v1alpha1.ObjectMeta(
                    name=f"c{i:03d}", namespace="default", labels={"fleet": "bench"}
                ),
                spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="sim"),
            )
        )
    await wait_all(
        store,
        v1alpha1.ClusterDeployment,
        lambda items: len(items) == clusters and all(c.status.phase == "Ready" for c in items),
    )
    for i in range(templates):
        await store.create(
            v1alpha1.ServiceTemplate(
                metadata=v1alpha1.ObjectMeta(name=f"app-{i}", namespace="default"),
                spec=v1alpha1.ServiceTemplateSpec(version="1.0.0", resources=body.format(i=i)),
            )
        )
    began = time.perf_counter()
    start_revision = await store.revision()
    for i in range(templates):
        await store.create(
            v1alpha1.MultiClusterService.model_validate(
                {
                    "metadata": {"name": f"app-{i}", "namespace": "default"},
                    "spec": {
                        "clusterSelector": {"matchLabels": {"fleet": "bench"}},
                        "services": [{"name": f"app-{i}", "template": f"app-{i}"}],
                        "rollout": {"maxUnavailable": "100%"},
                    },
                }
            )
        )
    deliveries = templates * clusters
    rollouts = await wait_all(
        store,
        v1alpha1.MultiClusterService,
        lambda items: sum(_deployed(m) for m in items) == deliveries,
        deadline=time.monotonic() + minutes * 60,
    )
    deployed = sum(_deployed(m) for m in rollouts)
    total = time.perf_counter() - began
    writes = await store.revision() - start_revision
    sets = await store.list(
        v1alpha1.ServiceSet,
        "default",
        selector=selectors.parse(f"{v1alpha1.LABEL_OWNER_KIND}=MultiClusterService"),
    )
    assert deployed < deliveries or len(sets.items) == deliveries
    return {
        "templates": templates,
        "clusters": clusters,
        "deliveries": deliveries,
        "objects": objects,
        "objects_applied": deployed * (1 if objects == "configmap" else 2),
        "complete": deployed == deliveries,
        "deployed": deployed,
        "total_s": round(total, 1),
        "deliveries_per_s": round(deployed / total, 1),
        "store_writes": writes,
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--templates", type=int, default=50)
    p.add_argument("--clusters", type=int, default=50)
    p.add_argument(
        "--objects",
        choices=("both", "configmap"),
        default="both",
        help="what each template holds: a Deployment and a ConfigMap, or one ConfigMap",
    )
    p.add_argument(
        "--minutes",
        type=float,
        default=math.inf,
        help="stop waiting after this long and report how many were Deployed by then",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(
            args.templates,
            args.clusters,
            args.database_url,
            Path(tmp),
            args.objects,
            args.minutes,
            args.processes,
        )
        emit(asyncio.run(result))


if __name__ == "__main__":
    main()
