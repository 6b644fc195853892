"""Deployments, StatefulSets and DaemonSets get pods, scheduled on the cluster's nodes, Ready
``pod_latency`` after they were created (on the fake clock), or Pending with the reason."""

from __future__ import annotations

from typing import Any

from lightkube import AsyncClient, codecs
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.core_v1 import Pod

from .conftest import POD_LATENCY, FakeClock, Served


def workload(
    kind: str = "Deployment",
    *,
    name: str = "web",
    replicas: int | None = 3,
    cpu: str | None = "500m",
    image: str = "nginx:1.27",
) -> Any:
    container: dict[str, Any] = {"name": "app", "image": image}
    if cpu is not None:
        container["resources"] = {"requests": {"cpu": cpu, "memory": "64Mi"}}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return codecs.from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
    )


async def pods(client: AsyncClient, app: str = "web") -> list[Pod]:
    return [p async for p in client.list(Pod, namespace="default", labels={"app": app})]


def conditions(obj: Any) -> dict[str, Any]:
    return {c.type: c for c in obj.status.conditions or []}


async def test_deployment_becomes_available_after_pod_latency(
    served: Served, clock: FakeClock
) -> None:
    await served.cluster(worker_count=2)
    client = await served.lightkube()
    try:
        created = await client.apply(workload(), field_manager="orbit")
        status = created.status
        assert (status.replicas, status.updatedReplicas, status.readyReplicas) == (3, 3, None)
        available = conditions(created)["Available"]
        assert (available.status, available.reason) == ("False", "MinimumReplicasUnavailable")
        pending = await pods(client)
        assert len(pending) == 3
        assert {p.status.phase for p in pending} == {"Pending"}
        assert {p.spec.nodeName for p in pending} <= {"c-uid-1-worker-0", "c-uid-1-worker-1"}
        waiting = pending[0].status.containerStatuses[0].state.waiting
        assert waiting.reason == "ContainerCreating"

        clock.advance(POD_LATENCY / 2)
        assert (
            await client.get(Deployment, "web", namespace="default")
        ).status.readyReplicas is None

        clock.advance(POD_LATENCY / 2)
        ready = await client.get(Deployment, "web", namespace="default")
        assert (ready.status.readyReplicas, ready.status.availableReplicas) == (3, 3)
        assert ready.status.observedGeneration == 1
        available = conditions(ready)["Available"]
        assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")
        assert conditions(ready)["Progressing"].reason == "NewReplicaSetAvailable"
        running = await pods(client)
        assert {p.status.phase for p in running} == {"Running"}
        assert all(p.status.podIP for p in running)
        assert {c.type: c.status for c in running[0].status.conditions}["Ready"] == "True"
        (rs,) = [r async for r in client.list(ReplicaSet, namespace="default")]
        assert rs.status.readyReplicas == 3
        assert all(p.metadata.ownerReferences[0].name == rs.metadata.name for p in running)
    finally:
        await client.close()


async def test_requests_too_big_for_any_node_are_unschedulable(
    served: Served, clock: FakeClock
) -> None:
    await served.cluster(worker_count=2)  # small workers: 2 CPUs each
    client = await served.lightkube()
    try:
        await client.apply(workload(cpu="4", replicas=2), field_manager="orbit")
        clock.advance(10 * POD_LATENCY)
        stuck = await client.get(Deployment, "web", namespace="default")
        failure = conditions(stuck)["ReplicaFailure"]
        assert (failure.status, failure.reason) == ("True", "Unschedulable")
        assert failure.message == "0/3 nodes are available: insufficient cpu (requested 4, free 2)"
        assert conditions(stuck)["Available"].status == "False"
        for pod in await pods(client):
            assert pod.status.phase == "Pending"
            assert pod.spec.nodeName is None
            (scheduled,) = pod.status.conditions
            assert (scheduled.type, scheduled.status, scheduled.reason) == (
                "PodScheduled",
                "False",
                "Unschedulable",
            )
    finally:
        await client.close()


async def test_the_pod_that_does_not_fit_is_pending(served: Served, clock: FakeClock) -> None:
    await served.cluster(worker_count=2)
    client = await served.lightkube()
    try:
        await client.apply(workload(cpu="1500m", replicas=3), field_manager="orbit")
        clock.advance(POD_LATENCY)
        deployment = await client.get(Deployment, "web", namespace="default")
        assert deployment.status.readyReplicas == 2
        assert conditions(deployment)["ReplicaFailure"].message == (
            "0/3 nodes are available: insufficient cpu (requested 1.5, free 0.5)"
        )
        phases = sorted(p.status.phase for p in await pods(client))
        assert phases == ["Pending", "Running", "Running"]
    finally:
        await client.close()


async def test_a_new_template_rolls_the_pods(served: Served, clock: FakeClock) -> None:
    await served.cluster()
    client = await served.lightkube()
    try:
        await client.apply(workload(), field_manager="orbit")
        clock.advance(POD_LATENCY)
        before = {p.metadata.name for p in await pods(client)}
        rolled = await client.apply(workload(image="nginx:1.28"), field_manager="orbit")
        assert rolled.metadata.generation == 2
        assert conditions(rolled)["Available"].status == "False"
        after = await pods(client)
        assert len(after) == 3 and not before & {p.metadata.name for p in after}
        assert {p.spec.containers[0].image for p in after} == {"nginx:1.28"}
        clock.advance(POD_LATENCY)
        ready = await client.get(Deployment, "web", namespace="default")
        assert conditions(ready)["Available"].status == "True"
        assert ready.status.observedGeneration == 2

        # Scaling keeps the pods that are there and adds new ones, not Ready yet.
        scaled = await client.apply(workload(image="nginx:1.28", replicas=4), field_manager="orbit")
        assert scaled.status.readyReplicas == 3
        assert {p.metadata.name for p in after} < {p.metadata.name for p in await pods(client)}
    finally:
        await client.close()


async def test_without_workers_the_control_plane_runs_pods(
    served: Served, clock: FakeClock
) -> None:
    await served.cluster(worker_count=0, control_plane_size="large")
    client = await served.lightkube()
    try:
        await client.apply(workload(cpu="2"), field_manager="orbit")
        clock.advance(POD_LATENCY)
        assert {p.spec.nodeName for p in await pods(client)} == {"c-uid-1-cp-0"}
        assert (await client.get(Deployment, "web", namespace="default")).status.readyReplicas == 3
    finally:
        await client.close()


async def test_deleting_a_deployment_deletes_its_pods(served: Served, clock: FakeClock) -> None:
    await served.cluster()
    client = await served.lightkube()
    try:
        await client.apply(workload(), field_manager="orbit")
        await client.apply(workload(name="other", replicas=1), field_manager="orbit")
        (victim, *_) = await pods(client)
        await client.delete(Pod, victim.metadata.name, namespace="default")
        replaced = {p.metadata.name for p in await pods(client)}
        assert len(replaced) == 3 and victim.metadata.name not in replaced

        await client.delete(Deployment, "web", namespace="default")
        assert await pods(client) == []
        assert len(await pods(client, "other")) == 1
    finally:
        await client.close()


async def test_statefulsets_and_daemonsets(served: Served, clock: FakeClock) -> None:
    await served.cluster(worker_count=2)
    client = await served.lightkube()
    try:
        await client.apply(workload("StatefulSet", name="db", replicas=2), field_manager="o")
        await client.apply(workload("DaemonSet", name="agent", replicas=None), field_manager="o")
        assert sorted(p.metadata.name for p in await pods(client, "db")) == ["db-0", "db-1"]
        agents = await pods(client, "agent")
        assert sorted(p.spec.nodeName for p in agents) == ["c-uid-1-worker-0", "c-uid-1-worker-1"]
        clock.advance(POD_LATENCY)
        sts = await client.get(StatefulSet, "db", namespace="default")
        assert (sts.status.replicas, sts.status.readyReplicas) == (2, 2)
        ds = await client.get(DaemonSet, "agent", namespace="default")
        assert (ds.status.desiredNumberScheduled, ds.status.numberReady) == (2, 2)
    finally:
        await client.close()
