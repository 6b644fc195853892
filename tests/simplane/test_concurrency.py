"""Idempotency and concurrency: one uid is one cluster, however many callers race for it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from orbit.simplane import SimPlane, SimPlaneSettings

from .conftest import FakeClock, SpecFactory


async def test_ensure_twice_is_one_cluster(plane: SimPlane, make_spec: SpecFactory) -> None:
    first = await plane.ensure_cluster(make_spec())
    second = await plane.ensure_cluster(make_spec())
    assert first == second
    assert [c.uid for c in await plane.list_clusters()] == ["uid-1"]


async def test_concurrent_ensures_for_one_uid_create_it_once(
    plane: SimPlane, make_spec: SpecFactory
) -> None:
    results = await asyncio.gather(*(plane.ensure_cluster(make_spec()) for _ in range(50)))
    assert len({tuple(n.name for n in c.nodes) for c in results}) == 1
    assert len({c.created_at for c in results}) == 1
    clusters = await plane.list_clusters()
    assert len(clusters) == 1
    assert len(clusters[0].nodes) == 3


async def test_hundreds_of_clusters_converge_concurrently(
    settings: SimPlaneSettings, make_spec: SpecFactory
) -> None:
    async with await SimPlane.open(replace(settings, node_latency=0)) as plane:
        specs = [make_spec(uid=f"uid-{i}", name=f"c{i}") for i in range(300)]
        clusters = await asyncio.gather(*(plane.ensure_cluster(s) for s in specs))
        assert all(c.phase == "running" for c in clusters)
        assert len(await plane.list_clusters()) == 300
        deletions = await asyncio.gather(*(plane.delete_cluster(s.uid) for s in specs))
        assert all(d.gone for d in deletions)
        assert await plane.list_clusters() == []


@pytest.mark.postgres
async def test_postgres_backend_creates_once_and_converges(
    postgres_url: str, clock: FakeClock, make_spec: SpecFactory
) -> None:
    settings = SimPlaneSettings(database_url=postgres_url, node_latency=10, clock=clock)
    # Two planes (as two processes would) race for the same uid: the primary key decides.
    async with await SimPlane.open(settings) as plane, await SimPlane.open(settings) as other:
        racers = [p.ensure_cluster(make_spec()) for _ in range(10) for p in (plane, other)]
        await asyncio.gather(*racers)
        assert len(await plane.list_clusters()) == 1
        clock.advance(20)
        cluster = await plane.ensure_cluster(make_spec())
        assert cluster.phase == "running"
    # A second plane process on the same database sees the same cluster.
    async with await SimPlane.open(settings) as plane:
        assert [c.uid for c in await plane.list_clusters()] == ["uid-1"]
        assert not (await plane.delete_cluster("uid-1")).gone
        clock.advance(10)
        assert (await plane.delete_cluster("uid-1")).gone
