"""Fixtures for the delivery engine and the ServiceSet controller: a simulated Cluster Plane
whose per-cluster Kubernetes API is served over real HTTP (uvicorn on 127.0.0.1, port 0), and
clusters in it. Import the fixtures into a test module (``from tests.delivery.conftest_engine
import *``-style explicit imports) where they are needed.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from fastapi import FastAPI

from orbit.delivery.kubeclient import KubeClient
from orbit.simplane import SimClusterSpec, SimPlane, SimPlaneSettings
from orbit.simplane.api import PREFIX, create_router

LATENCY = 0.05
V1 = "v1.30.6+k3s1"

T = TypeVar("T")


@dataclass
class Plane:
    """The sim plane and the base URL its HTTP server answers on."""

    sim: SimPlane
    base_url: str

    async def cluster(
        self,
        name: str = "alpha",
        *,
        uid: str | None = None,
        namespace: str = "default",
        workers: int = 1,
        worker_size: str = "small",
    ) -> str:
        """Create a cluster and wait until its nodes are ready; returns its uid."""
        uid = uid or str(uuid.uuid4())
        spec = SimClusterSpec(
            uid=uid,
            namespace=namespace,
            name=name,
            kubernetes_version=V1,
            control_plane_count=1,
            control_plane_size="small",
            worker_count=workers,
            worker_size=worker_size,
        )

        async def ready() -> bool:
            state = await self.sim.ensure_cluster(spec)
            return (
                bool(state.nodes)
                and all(n.ready for n in state.nodes)
                and (len(state.nodes) == 1 + workers)
            )

        await eventually(ready, what=f"cluster {name} ready")
        return uid

    async def client(self, uid: str) -> KubeClient:
        return KubeClient.from_kubeconfig(await self.sim.kubeconfig(uid))


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 60.0, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy (generous bound, never a tight one)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[Plane]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = SimPlaneSettings(
        database_url=str(tmp_path / "sim.db"),
        node_latency=LATENCY,
        pod_latency=LATENCY,
        endpoint_base=f"{base}{PREFIX}/clusters",
    )
    sim = await SimPlane.open(settings)
    app = FastAPI()
    app.include_router(create_router(sim))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: _started(server), timeout=30, what="uvicorn started")
        yield Plane(sim=sim, base_url=base)
    finally:
        server.should_exit = True
        await task
        sock.close()
        await sim.close()


async def _started(server: uvicorn.Server) -> bool:
    return server.started
