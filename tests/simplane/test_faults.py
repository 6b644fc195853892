"""Injected faults: transient ones before and after commit, permanent ones that change nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orbit.simplane import (
    SimCluster,
    SimPermanentFault,
    SimPlane,
    SimPlaneSettings,
    SimTransientFault,
)

from .conftest import LATENCY, V2, FakeClock, SpecFactory


async def test_transient_faults_before_and_after_commit_then_convergence(
    settings: SimPlaneSettings, clock: FakeClock, make_spec: SpecFactory
) -> None:
    flaky = replace(settings, failure_rate=0.5, seed=42)
    committed: list[bool] = []
    messages: list[str] = []
    async with await SimPlane.open(flaky) as plane:
        for index in range(20):
            uid = f"uid-{index}"
            spec = make_spec(uid=uid, name=f"c{index}", worker_count=1)
            cluster: SimCluster | None = None
            for _ in range(200):
                try:
                    cluster = await plane.ensure_cluster(spec)
                except SimTransientFault as fault:
                    committed.append(fault.committed)
                    messages.append(str(fault))
                    clock.advance(LATENCY / 2)
                    continue
                if cluster.phase == "running":
                    break
                clock.advance(LATENCY / 2)
            assert cluster is not None
            assert cluster.phase == "running"

            upgraded = spec.model_copy(update={"kubernetes_version": V2})
            for _ in range(400):
                try:
                    cluster = await plane.ensure_cluster(upgraded)
                except SimTransientFault as fault:
                    committed.append(fault.committed)
                else:
                    if all(n.kubernetes_version == V2 and n.ready for n in cluster.nodes):
                        break
                clock.advance(LATENCY / 2)
            assert all(n.kubernetes_version == V2 and n.ready for n in cluster.nodes)

            for _ in range(200):
                try:
                    if (await plane.delete_cluster(uid)).gone:
                        break
                except SimTransientFault as fault:
                    committed.append(fault.committed)
                clock.advance(LATENCY / 2)
            assert await plane.get_cluster(uid) is None

        assert True in committed, "expected a lost response (fault after commit)"
        assert False in committed, "expected a fault before commit"
        assert await plane.list_clusters() == []
        assert all("retry" in m for m in messages)


async def test_fault_after_commit_created_the_cluster(
    settings: SimPlaneSettings, make_spec: SpecFactory
) -> None:
    async with await SimPlane.open(replace(settings, failure_rate=1.0, seed=1)) as plane:
        outcomes: list[bool] = []
        for index in range(20):
            uid = f"uid-{index}"
            with pytest.raises(SimTransientFault) as caught:
                await plane.ensure_cluster(make_spec(uid=uid, name=f"c{index}"))
            exists = await plane.get_cluster(uid) is not None
            assert exists == caught.value.committed
            outcomes.append(exists)
        assert set(outcomes) == {True, False}


async def test_observing_never_faults(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec())
    clock.advance(2 * LATENCY)
    await plane.ensure_cluster(make_spec())
    plane.configure_faults(failure_rate=1.0, seed=3)
    # Nothing to change: no mutating step, so no fault.
    assert (await plane.ensure_cluster(make_spec())).phase == "running"
    assert await plane.get_cluster("uid-1") is not None
    assert (await plane.delete_cluster("missing")).gone
    with pytest.raises(SimTransientFault):
        await plane.ensure_cluster(make_spec(worker_count=5))


async def test_unknown_machine_size_is_permanent(plane: SimPlane, make_spec: SpecFactory) -> None:
    with pytest.raises(SimPermanentFault) as caught:
        await plane.ensure_cluster(make_spec(worker_size="huge"))
    message = str(caught.value)
    assert "'huge'" in message
    for size in ("small", "medium", "large", "xlarge"):
        assert size in message
    assert await plane.list_clusters() == []


async def test_quota_is_permanent_and_changes_nothing(
    plane: SimPlane, make_spec: SpecFactory
) -> None:
    with pytest.raises(SimPermanentFault) as caught:
        await plane.ensure_cluster(make_spec(control_plane_count=3, worker_count=5, max_nodes=6))
    assert str(caught.value) == (
        "need 8 nodes, quota allows 6; lower the workers or raise the credential's nodeQuota"
    )
    assert await plane.list_clusters() == []

    await plane.ensure_cluster(make_spec(max_nodes=6))
    with pytest.raises(SimPermanentFault):
        await plane.ensure_cluster(make_spec(worker_count=9, max_nodes=6))
    cluster = await plane.get_cluster("uid-1")
    assert cluster is not None
    assert len(cluster.nodes) == 3


async def test_a_cluster_needs_a_control_plane(plane: SimPlane, make_spec: SpecFactory) -> None:
    with pytest.raises(SimPermanentFault, match="control-plane"):
        await plane.ensure_cluster(make_spec(control_plane_count=0))


def test_settings_are_validated(settings: SimPlaneSettings) -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        replace(settings, failure_rate=1.5)
    with pytest.raises(ValueError, match="node_latency"):
        replace(settings, node_latency=-1)
