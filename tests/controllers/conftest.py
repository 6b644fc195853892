"""A whole Orbit Plane minus HTTP: the real store (SQLite and PostgreSQL), the default catalog,
a simulated Cluster Plane with its own database, the sim provider, admission, and the manager
running every controller. Writes go through admission first, as the API does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orbit import catalog, controllers
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.config import ControllerSettings, Settings
from orbit.controllers.serviceset import cluster_clients
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.runtime.manager import Manager
from orbit.simplane import SimPlane, SimPlaneSettings
from orbit.store import SqlStore

LATENCY = 0.05
STEP = 10.0  # node latency under a FakeClock: nothing moves until the test advances it


@dataclass
class Fleet:
    store: SqlStore
    sim: SimPlane
    admission: Admission
    manager: Manager

    async def create(
        self,
        name: str,
        template: str = "sim-single-1-0-0",
        *,
        credential: str = "sim",
        ttl: str | None = None,
        **config: Any,
    ) -> v1alpha1.ClusterDeployment:
        cluster = v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
            spec=v1alpha1.ClusterDeploymentSpec(
                template=template, credential=credential, config=config, ttl=ttl
            ),
        )
        admitted = await self.admission.admit(cluster, None)
        assert isinstance(admitted, v1alpha1.ClusterDeployment)
        return await self.store.create(admitted)

    async def patch(self, name: str, **spec: Any) -> v1alpha1.ClusterDeployment:
        old = await self.get(name)
        new = old.model_copy(update={"spec": old.spec.model_copy(update=spec)}, deep=True)
        await self.admission.admit(new, old)
        return await self.store.update(new)

    async def get(self, name: str) -> v1alpha1.ClusterDeployment:
        return await self.store.get(v1alpha1.ClusterDeployment, "default", name)

    async def wait(
        self,
        name: str,
        check: Callable[[v1alpha1.ClusterDeployment], bool],
        *,
        timeout: float = 60.0,
        what: str = "",
    ) -> v1alpha1.ClusterDeployment:
        deadline = time.monotonic() + timeout
        cluster = await self.get(name)
        while time.monotonic() < deadline:
            cluster = await self.get(name)
            if check(cluster):
                return cluster
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or name}: {cluster.status}")

    async def wait_settled(
        self, name: str, phase: str = "Ready", **kw: Any
    ) -> v1alpha1.ClusterDeployment:
        return await self.wait(
            name,
            lambda c: (
                c.status.phase == phase and c.status.observed_generation == c.metadata.generation
            ),
            what=f"{name} {phase}",
            **kw,
        )

    async def events(self, name: str) -> list[v1alpha1.Event]:
        items = (await self.store.list(v1alpha1.Event, "default")).items
        return [e for e in items if e.involved_object.name == name]


class FakeClock:
    """The sim plane's clock, moved by the test: infrastructure progress step by step."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def sim_clock() -> FakeClock | None:
    """None: the sim plane runs on real time; a test parametrizes a FakeClock to drive it."""
    return None


@pytest.fixture
def sim_settings(tmp_path: Path, sim_clock: FakeClock | None) -> SimPlaneSettings:
    if sim_clock is None:
        return SimPlaneSettings(database_url=str(tmp_path / "sim.db"), node_latency=LATENCY)
    return SimPlaneSettings(
        database_url=str(tmp_path / "sim.db"), node_latency=STEP, clock=sim_clock
    )


@pytest.fixture
async def fleet(store: SqlStore, sim_settings: SimPlaneSettings) -> AsyncIterator[Fleet]:
    sim = await SimPlane.open(sim_settings)
    providers = ProviderRegistry()
    providers.register(SimProvider(sim))
    await catalog.install(store)
    settings = Settings(
        controllers=ControllerSettings(
            workers=8, poll_interval=0.05, base_delay=0.02, max_delay=0.5, ready_recheck=5.0
        )
    )
    clients = cluster_clients(providers)
    manager = controllers.build_manager(store, providers, settings, clients=clients)
    await manager.start()
    try:
        yield Fleet(store, sim, Admission(store, providers=providers.names()), manager)
    finally:
        await manager.stop()
        await clients.close()
        await sim.close()
