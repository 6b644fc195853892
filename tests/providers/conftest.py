"""Fixtures for provider tests: a simulated plane on a SQLite file driven by a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.providers.base import ClusterRef, DesiredCluster
from orbit.providers.sim import SimProvider
from orbit.simplane import SimPlane, SimPlaneSettings

LATENCY = 5.0
V1 = "v1.30.6+k3s1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def plane(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SimPlane]:
    settings = SimPlaneSettings(
        database_url=str(tmp_path / "sim.db"), node_latency=LATENCY, clock=clock
    )
    sim = await SimPlane.open(settings)
    yield sim
    await sim.close()


@pytest.fixture
def provider(plane: SimPlane) -> SimProvider:
    return SimProvider(plane)


REF = ClusterRef(uid="0b6a5c1e-uid", namespace="team-a", name="alpha")


def credential(provider: str = "sim", **config: Any) -> v1alpha1.Credential:
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name="sim-account", namespace="team-a"),
        spec=v1alpha1.CredentialSpec(provider=provider, config=config),
    )


def desired(*, workers: int = 2, version: str = V1, worker_size: str = "medium") -> DesiredCluster:
    return DesiredCluster(
        ref=REF,
        kubernetes_version=version,
        control_plane=v1alpha1.MachineGroup(count=1, machine_size="small"),
        workers=v1alpha1.MachineGroup(count=workers, machine_size=worker_size),
        labels={"env": "test"},
    )


DesiredFactory = Callable[..., DesiredCluster]
