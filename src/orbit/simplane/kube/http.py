"""The HTTP face of the clusters' Kubernetes APIs: one catch-all route per method.

Mounted by :func:`orbit.simplane.api.create_router` under
``/simplane/v1/clusters/{uid}/k8s/...``; everything past ``k8s/`` is the Kubernetes path. The
route only moves bytes: :class:`~orbit.simplane.kube.service.KubeAPI` does the rest.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from orbit.simplane.kube.service import KubeAPI
from orbit.simplane.kube.service import Request as KubeRequest

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def add_routes(router: APIRouter, kube: KubeAPI) -> None:
    """Add ``/clusters/{uid}/k8s/{path}`` to ``router`` (whose prefix is the plane's)."""

    @router.api_route("/clusters/{uid}/k8s/{path:path}", methods=METHODS, include_in_schema=False)
    async def kubernetes(uid: str, path: str, request: Request) -> Response:
        reply = await kube.serve(
            uid,
            bearer(request.headers.get("authorization")),
            KubeRequest(
                method=request.method,
                path=path,
                query=request.query_params,
                headers=request.headers,
                body=await request.body(),
            ),
        )
        if reply.streaming:
            return StreamingResponse(
                reply.body, status_code=reply.status, media_type=reply.media_type
            )
        return Response(reply.content(), status_code=reply.status, media_type=reply.media_type)
