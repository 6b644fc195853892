"""Fixtures for the simulated plane: a fake clock (no sleeps), a plane on a SQLite file, specs."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orbit.simplane import SimClusterSpec, SimPlane, SimPlaneSettings

LATENCY = 10.0
V1 = "v1.30.6+k3s1"
V2 = "v1.31.2+k3s1"


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


SpecFactory = Callable[..., SimClusterSpec]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "simplane.db"


@pytest.fixture
def settings(db_path: Path, clock: FakeClock) -> SimPlaneSettings:
    return SimPlaneSettings(database_url=str(db_path), node_latency=LATENCY, clock=clock)


@pytest.fixture
async def plane(settings: SimPlaneSettings) -> AsyncIterator[SimPlane]:
    sim = await SimPlane.open(settings)
    yield sim
    await sim.close()


@pytest.fixture
def make_spec() -> SpecFactory:
    def build(**changes: Any) -> SimClusterSpec:
        values: dict[str, Any] = {
            "uid": "uid-1",
            "namespace": "team-a",
            "name": "alpha",
            "kubernetes_version": V1,
            "control_plane_count": 1,
            "worker_count": 2,
        }
        values.update(changes)
        return SimClusterSpec(**values)

    return build


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("ORBIT_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}")
    name = f"simplane_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
