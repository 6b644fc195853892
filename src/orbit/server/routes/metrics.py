"""``/metrics``: this process in Prometheus's text format, for scrapers and the benchmarks.

Each controller's counters and queue (``orbit_controller_*``, labelled ``controller``), whether
the controllers listed their kinds, the shards this process holds, and the process's own CPU,
memory and file descriptors (prometheus-client's process collector). Values are read from the
running plane at scrape time; nothing is counted twice. Only aggregate numbers, no object
names, so like ``/healthz`` it needs no identity (docs/production.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.datastructures import State

if TYPE_CHECKING:
    from orbit.server.runner import Plane

router = APIRouter(tags=["health"])

_COUNTERS = {
    "reconciles": "Reconcile passes finished.",
    "errors": "Passes that raised an error (retried with backoff).",
    "terminal_errors": "Passes that failed for good (not retried until the object changes).",
    "requeues": "Passes that asked to run again later.",
    "relists": "Full relists of the controller's kind.",
}
_GAUGES = {
    "queue_depth": "Keys waiting in the work queue.",
    "in_flight": "Passes running now.",
}


class PlaneCollector(Collector):
    """Reads the plane kept in ``state`` (absent before start-up: only the process metrics)."""

    def __init__(self, state: State) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        plane: Plane | None = getattr(self._state, "plane", None)
        if plane is None or plane.manager is None:
            return
        manager = plane.manager
        counters = {
            name: CounterMetricFamily(f"orbit_controller_{name}", text, labels=["controller"])
            for name, text in _COUNTERS.items()
        }
        gauges = {
            name: GaugeMetricFamily(f"orbit_controller_{name}", text, labels=["controller"])
            for name, text in _GAUGES.items()
        }
        for controller in manager.controllers:
            stats = controller.stats
            for name, counter in counters.items():
                counter.add_metric([controller.name], getattr(stats, name))
            for name, gauge in gauges.items():
                gauge.add_metric([controller.name], getattr(stats, name))
        yield from counters.values()
        yield from gauges.values()
        yield GaugeMetricFamily(
            "orbit_controllers_ready",
            "1 once every controller listed its kind (and the shards are held).",
            value=1 if plane.ready else 0,
        )
        shards = plane.shards
        if shards is not None:
            yield GaugeMetricFamily(
                "orbit_shards_held", "Shards whose lease this process holds.", len(shards.held())
            )


def registry_for(state: State) -> CollectorRegistry:
    """A registry of one app (tests run many apps in one process: none is global)."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    registry.register(PlaneCollector(state))
    return registry


@router.get("/metrics", operation_id="getMetrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    registry = getattr(state, "metrics_registry", None)
    if registry is None:
        registry = state.metrics_registry = registry_for(state)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
