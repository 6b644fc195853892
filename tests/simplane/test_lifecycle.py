"""Create, scale, upgrade and delete, driven by a fake clock: progress follows time, not calls."""

from __future__ import annotations

from dataclasses import replace

from orbit.simplane import SimCluster, SimPlane, SimPlaneSettings

from .conftest import LATENCY, V1, V2, FakeClock, SpecFactory


def ready_names(cluster: SimCluster) -> list[str]:
    return [n.name for n in cluster.nodes if n.ready]


async def test_create_becomes_ready_over_time(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    spec = make_spec(control_plane_count=3, worker_count=2)

    cluster = await plane.ensure_cluster(spec)
    assert cluster.phase == "provisioning"
    assert [n.name for n in cluster.nodes] == [
        "alpha-cp-0",
        "alpha-cp-1",
        "alpha-cp-2",
        "alpha-worker-0",
        "alpha-worker-1",
    ]
    assert ready_names(cluster) == []
    assert cluster.message == "provisioning 5 nodes"
    assert cluster.endpoint == "http://127.0.0.1:8420/simplane/v1/clusters/uid-1/k8s"

    clock.advance(LATENCY)
    cluster = await plane.ensure_cluster(spec)
    assert ready_names(cluster) == ["alpha-cp-0"]
    assert cluster.message == "provisioning 4 nodes"

    clock.advance(LATENCY)
    cluster = await plane.ensure_cluster(spec)
    assert cluster.phase == "running"
    assert len(ready_names(cluster)) == 5
    assert cluster.message == f"running 5 nodes at {V1}"
    assert {n.role for n in cluster.group("control-plane")} == {"control-plane"}
    assert all(n.kubernetes_version == V1 for n in cluster.nodes)


async def test_node_capacity_follows_machine_size(plane: SimPlane, make_spec: SpecFactory) -> None:
    cluster = await plane.ensure_cluster(
        make_spec(control_plane_size="medium", worker_size="xlarge", worker_count=1)
    )
    cp, worker = cluster.nodes
    assert (cp.machine_size, cp.capacity.cpu, cp.capacity.memory) == ("medium", 4, "16Gi")
    assert (worker.machine_size, worker.capacity.cpu, worker.capacity.memory) == (
        "xlarge",
        16,
        "64Gi",
    )


async def test_reads_project_progress_without_ensure(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec())
    clock.advance(2 * LATENCY)
    cluster = await plane.get_cluster("uid-1")
    assert cluster is not None
    assert cluster.phase == "running"
    assert all(n.ready for n in cluster.nodes)
    assert await plane.get_cluster("nope") is None


async def test_scale_up_then_down_one_node_at_a_time(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec(worker_count=1))
    clock.advance(2 * LATENCY)

    cluster = await plane.ensure_cluster(make_spec(worker_count=3))
    assert [n.name for n in cluster.nodes if not n.ready] == ["alpha-worker-1", "alpha-worker-2"]
    assert cluster.message == "provisioning 2 nodes"
    clock.advance(LATENCY)
    cluster = await plane.ensure_cluster(make_spec(worker_count=3))
    assert len(ready_names(cluster)) == 4

    cluster = await plane.ensure_cluster(make_spec(worker_count=1))
    draining = [n for n in cluster.nodes if n.status == "draining"]
    assert [n.name for n in draining] == ["alpha-worker-2"]
    assert cluster.message == "draining node alpha-worker-2"
    assert len(cluster.nodes) == 4

    clock.advance(LATENCY)
    cluster = await plane.ensure_cluster(make_spec(worker_count=1))
    assert cluster.message == "draining node alpha-worker-1"
    assert [n.name for n in cluster.nodes] == ["alpha-cp-0", "alpha-worker-0", "alpha-worker-1"]

    clock.advance(LATENCY)
    cluster = await plane.ensure_cluster(make_spec(worker_count=1))
    assert [n.name for n in cluster.nodes] == ["alpha-cp-0", "alpha-worker-0"]
    assert all(n.ready for n in cluster.nodes)


async def test_scale_down_cancels_nodes_still_joining(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec(worker_count=3))
    cluster = await plane.ensure_cluster(make_spec(worker_count=1))
    assert [n.name for n in cluster.nodes] == ["alpha-cp-0", "alpha-worker-0"]


async def test_upgrade_one_node_at_a_time_control_plane_first(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec(control_plane_count=2, worker_count=2))
    clock.advance(2 * LATENCY)
    target = make_spec(control_plane_count=2, worker_count=2, kubernetes_version=V2)

    order = ["alpha-cp-0", "alpha-cp-1", "alpha-worker-0", "alpha-worker-1"]
    for step, name in enumerate(order, start=1):
        cluster = await plane.ensure_cluster(target)
        upgrading = [n for n in cluster.nodes if n.status == "upgrading"]
        assert [n.name for n in upgrading] == [name]
        assert not upgrading[0].ready
        assert upgrading[0].kubernetes_version == V1
        assert cluster.message == f"upgrading node {name} to {V2} ({step}/4)"
        done = [n.name for n in cluster.nodes if n.kubernetes_version == V2]
        assert done == order[: step - 1]
        assert all(n.ready for n in cluster.nodes if n.name != name)
        clock.advance(LATENCY)

    cluster = await plane.ensure_cluster(target)
    assert all(n.ready and n.kubernetes_version == V2 for n in cluster.nodes)
    assert cluster.message == f"running 4 nodes at {V2}"
    assert cluster.kubernetes_version == V2


async def test_upgrade_progresses_between_calls(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    """Steps chain in time: a caller polling rarely sees the same progress as one polling often."""
    await plane.ensure_cluster(make_spec(worker_count=3))
    clock.advance(2 * LATENCY)
    await plane.ensure_cluster(make_spec(worker_count=3, kubernetes_version=V2))
    clock.advance(2.5 * LATENCY)
    cluster = await plane.ensure_cluster(make_spec(worker_count=3, kubernetes_version=V2))
    assert [n.kubernetes_version for n in cluster.nodes] == [V2, V2, V1, V1]
    assert cluster.message == f"upgrading node alpha-worker-1 to {V2} (3/4)"


async def test_zero_latency_converges_in_one_call(
    settings: SimPlaneSettings, make_spec: SpecFactory
) -> None:
    async with await SimPlane.open(replace(settings, node_latency=0)) as plane:
        cluster = await plane.ensure_cluster(make_spec(worker_count=2))
        assert cluster.phase == "running"
        cluster = await plane.ensure_cluster(make_spec(worker_count=4, kubernetes_version=V2))
        assert len(cluster.nodes) == 5
        assert all(n.ready and n.kubernetes_version == V2 for n in cluster.nodes)
        assert (await plane.delete_cluster("uid-1")).gone


async def test_delete_tears_down_after_latency(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec())
    clock.advance(2 * LATENCY)

    deletion = await plane.delete_cluster("uid-1")
    assert not deletion.gone
    assert deletion.remaining == ["alpha-cp-0", "alpha-worker-0", "alpha-worker-1"]
    cluster = await plane.get_cluster("uid-1")
    assert cluster is not None
    assert cluster.phase == "deleting"
    assert cluster.message == "deleting 3 nodes"

    # Ensure on a cluster being torn down changes nothing.
    assert (await plane.ensure_cluster(make_spec())).phase == "deleting"

    clock.advance(LATENCY)
    assert await plane.get_cluster("uid-1") is None
    deletion = await plane.delete_cluster("uid-1")
    assert deletion.gone
    assert deletion.remaining == []
    assert (await plane.delete_cluster("uid-1")).gone
    assert (await plane.delete_cluster("never-existed")).gone
    assert await plane.list_clusters() == []


async def test_ensure_after_teardown_creates_a_new_cluster(
    plane: SimPlane, clock: FakeClock, make_spec: SpecFactory
) -> None:
    await plane.ensure_cluster(make_spec())
    await plane.delete_cluster("uid-1")
    clock.advance(LATENCY)
    cluster = await plane.ensure_cluster(make_spec())
    assert cluster.phase == "provisioning"
    assert len(await plane.list_clusters()) == 1
