"""The plane's own HTTP view, through FastAPI and httpx.ASGITransport."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from orbit.simplane import SimPlane
from orbit.simplane.api import create_router

from .conftest import SpecFactory


async def test_list_and_get_clusters(plane: SimPlane, make_spec: SpecFactory) -> None:
    app = FastAPI()
    app.include_router(create_router(plane))
    for index in range(3):
        await plane.ensure_cluster(make_spec(uid=f"uid-{index}", name=f"c{index}"))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        listing = await client.get("/simplane/v1/clusters")
        assert listing.status_code == 200
        body = listing.json()
        assert body["count"] == 3
        assert [c["uid"] for c in body["items"]] == ["uid-0", "uid-1", "uid-2"]

        one = await client.get("/simplane/v1/clusters/uid-1")
        assert one.status_code == 200
        cluster = one.json()
        assert cluster["name"] == "c1"
        assert cluster["phase"] == "provisioning"
        assert cluster["endpoint"].endswith("/simplane/v1/clusters/uid-1/k8s")
        assert cluster["nodes"][0]["kubernetesVersion"]
        assert cluster["nodes"][0]["capacity"] == {"cpu": 2, "memory": "4Gi"}
        assert "token" not in one.text

        missing = await client.get("/simplane/v1/clusters/nope")
        assert missing.status_code == 404
        assert missing.json()["reason"] == "NotFound"
