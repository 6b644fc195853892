"""The plane's state lives in its own database: a restart loses nothing and progress continues."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest
import yaml

from orbit.simplane import SimNotFound, SimPlane, SimPlaneSettings

from .conftest import LATENCY, V1, V2, FakeClock, SpecFactory


async def test_state_and_progress_survive_a_restart(
    settings: SimPlaneSettings, clock: FakeClock, make_spec: SpecFactory
) -> None:
    plane = await SimPlane.open(settings)
    await plane.ensure_cluster(make_spec(worker_count=2))
    await plane.close()

    clock.advance(2 * LATENCY)
    plane = await SimPlane.open(settings)
    cluster = await plane.get_cluster("uid-1")
    assert cluster is not None
    assert cluster.phase == "running"
    assert all(n.ready for n in cluster.nodes)

    await plane.ensure_cluster(make_spec(worker_count=2, kubernetes_version=V2))
    await plane.close()

    # Down for 1.5 node steps: the first node finished, the second is half way.
    clock.advance(1.5 * LATENCY)
    plane = await SimPlane.open(settings)
    cluster = await plane.get_cluster("uid-1")
    assert cluster is not None
    assert [n.kubernetes_version for n in cluster.nodes] == [V2, V1, V1]
    assert cluster.message == f"upgrading node alpha-worker-0 to {V2} (2/3)"
    await plane.close()

    clock.advance(2 * LATENCY)
    plane = await SimPlane.open(settings)
    cluster = await plane.ensure_cluster(make_spec(worker_count=2, kubernetes_version=V2))
    assert all(n.ready and n.kubernetes_version == V2 for n in cluster.nodes)
    await plane.close()


async def test_token_and_kubeconfig_are_stable_across_restarts(
    settings: SimPlaneSettings, make_spec: SpecFactory
) -> None:
    async with await SimPlane.open(settings) as plane:
        await plane.ensure_cluster(make_spec())
        first = await plane.kubeconfig("uid-1")
    async with await SimPlane.open(settings) as plane:
        assert await plane.kubeconfig("uid-1") == first


async def test_kubeconfig_points_at_the_cluster_endpoint_with_its_token(
    plane: SimPlane, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec())
    await plane.ensure_cluster(make_spec(uid="uid-2", name="beta"))
    config = yaml.safe_load(await plane.kubeconfig("uid-1"))
    other = yaml.safe_load(await plane.kubeconfig("uid-2"))

    assert config["kind"] == "Config"
    assert config["apiVersion"] == "v1"
    (cluster,) = config["clusters"]
    assert cluster["cluster"]["server"] == "http://127.0.0.1:8420/simplane/v1/clusters/uid-1/k8s"
    assert "certificate-authority-data" not in cluster["cluster"]
    (context,) = config["contexts"]
    assert config["current-context"] == context["name"]
    assert context["context"]["cluster"] == cluster["name"]
    (user,) = config["users"]
    assert context["context"]["user"] == user["name"]
    token = user["user"]["token"]
    assert len(token) >= 32
    assert token != other["users"][0]["user"]["token"]

    assert await plane.authenticate("uid-1", token)
    assert not await plane.authenticate("uid-2", token)
    assert not await plane.authenticate("missing", token)


async def test_kubeconfig_of_a_missing_cluster_is_not_found(plane: SimPlane) -> None:
    with pytest.raises(SimNotFound, match="missing"):
        await plane.kubeconfig("missing")


async def test_custom_endpoint_base(
    db_path: Path, clock: FakeClock, make_spec: SpecFactory
) -> None:
    settings = SimPlaneSettings(
        database_url=str(db_path), endpoint_base="https://sim.example:9443/k/", clock=clock
    )
    async with await SimPlane.open(settings) as plane:
        cluster = await plane.ensure_cluster(make_spec())
    assert cluster.endpoint == "https://sim.example:9443/k/uid-1/k8s"


async def test_kubeconfig_carries_the_endpoint_ca(
    db_path: Path, clock: FakeClock, make_spec: SpecFactory
) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    settings = SimPlaneSettings(
        database_url=str(db_path), endpoint_base="https://127.0.0.1:9443/s", endpoint_ca=pem
    )
    async with await SimPlane.open(settings) as plane:
        await plane.ensure_cluster(make_spec())
        (cluster,) = yaml.safe_load(await plane.kubeconfig("uid-1"))["clusters"]
    assert cluster["cluster"]["server"] == "https://127.0.0.1:9443/s/uid-1/k8s"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode() == pem


async def test_state_is_in_the_planes_own_sqlite_file(
    plane: SimPlane, db_path: Path, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec())
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("select uid, name from simplane_clusters").fetchall()
    assert rows == [("uid-1", "alpha")]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("postgresql://postgres@db/sim", "postgresql+asyncpg://postgres@db/sim"),
    ],
)
def test_database_urls_get_an_async_driver(given: str, expected: str) -> None:
    assert SimPlaneSettings(database_url=given).database_url == expected


def test_a_plain_path_is_a_sqlite_file(tmp_path: Path) -> None:
    url = SimPlaneSettings(database_url=str(tmp_path / "s.db")).database_url
    assert url == f"sqlite+aiosqlite:///{tmp_path / 's.db'}"


async def test_an_in_memory_plane_works_for_quick_tests(
    clock: FakeClock, make_spec: SpecFactory
) -> None:
    settings = SimPlaneSettings(database_url="sqlite+aiosqlite://", node_latency=0, clock=clock)
    async with await SimPlane.open(settings) as plane:
        assert (await plane.ensure_cluster(make_spec())).phase == "running"
        assert len(await plane.list_clusters()) == 1
