"""``/metrics``: Prometheus text with each controller's counters and queue, readiness, shards
and the process's own CPU and memory; no identity needed, nothing but aggregates."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from orbit.api import v1alpha1
from orbit.config import ControllerSettings, Settings, SimSettings
from orbit.server import create_app
from orbit.server.runner import build_app
from tests.gitops.conftest import until


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(text: str) -> dict[tuple[str, str], float]:
    """(sample name, controller label or "") -> value."""
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, s.labels.get("controller", ""))] = s.value
    return found


async def test_metrics_report_the_controllers_work_without_an_identity(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        port=_port(),
        sim=SimSettings(node_latency=0, pod_latency=0, endpoint_port=_port()),
        controllers=ControllerSettings(workers=2, poll_interval=0.05),
    )
    app = build_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://orbit") as http,
    ):
        await app.state.plane.store.create(
            v1alpha1.ClusterDeployment(
                metadata=v1alpha1.ObjectMeta(name="m1", namespace="default"),
                spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="sim"),
            )
        )

        async def scraped() -> dict[tuple[str, str], float] | None:
            response = await http.get("/metrics")  # no Authorization header
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            found = samples(response.text)
            passes = found.get(("orbit_controller_reconciles_total", "clusterdeployment"), 0)
            return found if passes >= 1 else None

        found = await until(scraped, "a clusterdeployment pass in /metrics")
        assert found[("orbit_controllers_ready", "")] == 1
        assert ("orbit_controller_queue_depth", "clusterdeployment") in found
        assert ("orbit_controller_in_flight", "servicetemplate") in found
        assert found[("process_resident_memory_bytes", "")] > 0
        assert "m1" not in (await http.get("/metrics")).text  # aggregates only, no names


async def test_metrics_before_the_plane_runs_are_the_process_only() -> None:
    transport = httpx.ASGITransport(app=create_app(store=None))
    async with httpx.AsyncClient(transport=transport, base_url="http://orbit") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    names = {name for name, _ in samples(response.text)}
    assert "process_cpu_seconds_total" in names
    assert not any(n.startswith("orbit_") for n in names)
