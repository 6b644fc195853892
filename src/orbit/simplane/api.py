"""The simulated plane's own HTTP view: what the infrastructure holds, independent of Orbit.

Tests and operators use it to check for leaks ("the simulated plane holds exactly 50
clusters"). It is the infrastructure's API, not Orbit's, so it answers a missing cluster itself
with a Kubernetes-style ``Status`` body rather than through Orbit's error mapping. Each
cluster's Kubernetes API lives under the same prefix, at ``/simplane/v1/clusters/{uid}/k8s/...``
(:mod:`orbit.simplane.kube`), authenticated by the cluster's bearer token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from orbit.simplane.kube import http as kube_http
from orbit.simplane.plane import SimPlane

PREFIX = "/simplane/v1"


def create_router(plane: SimPlane) -> APIRouter:
    """Routes over ``plane``: GET /simplane/v1/clusters, GET /simplane/v1/clusters/{uid}, and
    every method on /simplane/v1/clusters/{uid}/k8s/{path} (the cluster's Kubernetes API)."""
    api = APIRouter(prefix=PREFIX, tags=["simplane"])

    @api.get("/clusters")
    async def list_clusters() -> dict[str, Any]:
        items = [c.model_dump(mode="json", by_alias=True) for c in await plane.list_clusters()]
        return {"kind": "SimClusterList", "count": len(items), "items": items}

    @api.get("/clusters/{uid}", response_model=None)
    async def get_cluster(uid: str) -> dict[str, Any] | JSONResponse:
        cluster = await plane.get_cluster(uid)
        if cluster is None:
            return JSONResponse(
                status_code=404,
                content={
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                    "message": f'simulated cluster "{uid}" not found',
                },
            )
        return cluster.model_dump(mode="json", by_alias=True)

    kube_http.add_routes(api, plane.kube)
    return api


router = create_router
"""Alias of :func:`create_router`."""
