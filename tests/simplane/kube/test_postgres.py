"""The same API on PostgreSQL (the plane's database at scale), called without HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from orbit.simplane import SimClusterSpec, SimPlane, SimPlaneSettings
from orbit.simplane.kube import Request

from ..conftest import FakeClock

pytestmark = pytest.mark.postgres

APPLY = {"content-type": "application/apply-patch+yaml"}


async def test_objects_on_postgres(postgres_url: str, clock: FakeClock) -> None:
    settings = SimPlaneSettings(
        database_url=postgres_url, node_latency=0, pod_latency=2, clock=clock
    )
    async with await SimPlane.open(settings) as plane, await SimPlane.open(settings) as other:
        await plane.ensure_cluster(
            SimClusterSpec(uid="pg-1", namespace="t", name="pg", kubernetes_version="v1.31.2")
        )
        token = yaml.safe_load(await plane.kubeconfig("pg-1"))["users"][0]["user"]["token"]

        async def call(p: SimPlane, method: str, path: str, body: Any = None, **q: str) -> Any:
            data = json.dumps(body).encode() if body is not None else b""
            reply = await p.kube.serve("pg-1", token, Request(method, path, q, APPLY, data))
            return reply.status, reply.body

        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "d"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "d"}},
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                },
            },
        }
        path = "apis/apps/v1/namespaces/default/deployments/d"
        code, _ = await call(plane, "PATCH", path, deployment, fieldManager="a")
        assert code == 201
        # A second process sees it, and its write conflicts on the field manager.
        changed = {**deployment, "spec": {**deployment["spec"], "replicas": 3}}
        code, body = await call(other, "PATCH", path, changed, fieldManager="b")
        assert (code, body["reason"]) == (409, "Conflict")
        clock.advance(2)
        code, body = await call(other, "GET", path)
        assert body["status"]["readyReplicas"] == 2
        code, listing = await call(
            plane, "GET", "apis/apps/v1/deployments", labelSelector="app in (d)"
        )
        assert [i["metadata"]["name"] for i in listing["items"]] == ["d"]

        assert (await plane.delete_cluster("pg-1")).gone
        code, _ = await call(other, "GET", path)
        assert code == 404
