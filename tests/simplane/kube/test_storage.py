"""Objects live in the plane's own database: they survive a reopened plane and go with their
cluster; a recreated cluster starts with only the default namespaces."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace

from .conftest import POD_LATENCY, FakeClock, Served
from .test_workloads import workload


def rows(db: Path, cluster: str) -> int:
    with sqlite3.connect(db) as conn:
        query = "select count(*) from simplane_objects where cluster_uid = ?"
        return int(conn.execute(query, (cluster,)).fetchone()[0])


async def test_objects_and_progress_survive_reopening_the_plane(
    served: Served, clock: FakeClock
) -> None:
    await served.cluster()
    client = await served.lightkube()
    try:
        config = ConfigMap(metadata=ObjectMeta(name="kept", namespace="default"), data={"a": "1"})
        before = await client.apply(config, field_manager="orbit")
        await client.apply(workload(), field_manager="orbit")
    finally:
        await client.close()

    await served.reopen()
    clock.advance(POD_LATENCY)  # time passes while the plane is closed: pods become Ready
    client = await served.lightkube()
    try:
        after = await client.get(ConfigMap, "kept", namespace="default")
        assert (after.metadata.uid, after.metadata.resourceVersion) == (
            before.metadata.uid,
            before.metadata.resourceVersion,
        )
        assert after.metadata.managedFields[0].manager == "orbit"
        deployment = await client.get(Deployment, "web", namespace="default")
        assert deployment.status.readyReplicas == 3
        # The counter goes on from where it was.
        again = await client.apply(
            ConfigMap(metadata=ObjectMeta(name="kept", namespace="default"), data={"a": "2"}),
            field_manager="orbit",
        )
        assert int(again.metadata.resourceVersion) > int(before.metadata.resourceVersion)
    finally:
        await client.close()


async def test_objects_go_with_their_cluster(served: Served, db_path: Path) -> None:
    await served.cluster("uid-1")
    await served.cluster("uid-2")
    for uid in ("uid-1", "uid-2"):
        client = await served.lightkube(uid)
        try:
            await client.create(Namespace(metadata=ObjectMeta(name="apps")))
            await client.apply(workload(), field_manager="orbit")
        finally:
            await client.close()
    assert rows(db_path, "uid-1") == rows(db_path, "uid-2") == 5

    assert (await served.plane.delete_cluster("uid-1")).gone
    assert rows(db_path, "uid-1") == 0
    assert rows(db_path, "uid-2") == 5
    async with served.http() as http:
        gone = await http.get("/uid-1/k8s/api/v1/namespaces", headers={"Authorization": "Bearer x"})
    assert gone.status_code == 404

    await served.cluster("uid-1")  # the same uid again: a new, empty cluster
    client = await served.lightkube("uid-1")
    try:
        names = [n.metadata.name async for n in client.list(Namespace)]
        assert names == ["default", "kube-public", "kube-system"]
        with pytest.raises(ApiError):
            await client.get(Deployment, "web", namespace="default")
    finally:
        await client.close()


async def test_many_clusters_take_deliveries_concurrently(served: Served, clock: FakeClock) -> None:
    uids = [f"uid-{i}" for i in range(10)]
    for uid in uids:
        await served.cluster(uid)

    async def deliver(uid: str) -> None:
        client = await served.lightkube(uid)
        try:
            for index in range(3):
                await client.apply(workload(name=f"app-{index}", replicas=1), field_manager="orbit")
                config = ConfigMap(
                    metadata=ObjectMeta(name=f"app-{index}", namespace="default"),
                    data={"i": str(index)},
                )
                await client.apply(config, field_manager="orbit")
        finally:
            await client.close()

    await asyncio.gather(*(deliver(uid) for uid in uids))
    clock.advance(POD_LATENCY)
    for uid in uids:
        client = await served.lightkube(uid)
        try:
            deployments = [d async for d in client.list(Deployment, namespace="default")]
            assert [d.status.readyReplicas for d in deployments] == [1, 1, 1]
        finally:
            await client.close()
