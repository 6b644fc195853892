"""``/clusters/{namespace}/{name}/proxy/{path}``: the AccessPoint, every method.

In order: authenticate the caller's Orbit token (401), authorize
``clusterdeployments/proxy:<verb>`` in the cluster's namespace with the verb the Kubernetes
request needs (403 naming the missing permission; :mod:`orbit.server.accesspoint.verbs`), find
the cluster (404) and its API (503 while it is being provisioned), then forward the request
with the cluster's admin credential and stream the answer back
(:mod:`orbit.server.accesspoint.relay`). Nothing about a cluster is revealed to a caller who
may not reach it. Upgraded connections (exec, attach, port-forward over SPDY or WebSockets) are
not proxied.

The audit recorder sees the request like any other: proxied writes are recorded under
``clusterdeployments/proxy`` with the caller as actor.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from orbit import errors
from orbit.api import v1alpha1
from orbit.security.rbac import PROXY, Permission
from orbit.server import accesspoint, auth
from orbit.server.accesspoint import clusters, relay, verbs
from orbit.server.deps import get_store

router = APIRouter(tags=["AccessPoint"])

PATH = "/clusters/{namespace}/{name}/proxy"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _kube_path(request: Request, namespace: str, name: str, path: str) -> str:
    """The Kubernetes path as the caller encoded it (``%2F`` stays ``%2F``)."""
    raw: bytes = request.scope.get("raw_path") or b""
    prefix = f"/clusters/{namespace}/{name}/proxy".encode()
    if raw.startswith(prefix + b"/"):
        return raw[len(prefix) :].decode("latin-1")
    return "/" + path


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> HTTPException:
    size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return HTTPException(413, f"the request body is larger than the AccessPoint's limit ({size})")


async def proxy(namespace: str, name: str, path: str, request: Request) -> Response:
    identity = await auth.authenticate(request)
    verb = verbs.verb(request.method, path, request.query_params)
    await auth.authorizer_of(request).check(identity, Permission(verb, PROXY, namespace))
    if request.headers.get("upgrade"):
        raise errors.BadRequest(
            "the AccessPoint does not proxy upgraded connections (exec, attach, port-forward)"
        )
    store = get_store(request)
    cluster = await store.get(v1alpha1.ClusterDeployment, namespace, name)
    access = accesspoint.of(request.app)
    body = await _body(request, access.max_body)
    load = clusters.loader(
        store,
        getattr(request.app.state, "vault", None),
        getattr(request.app.state, "providers", None),
        cluster,
        catalog_namespace=access.catalog_namespace,
    )
    return await relay.forward(
        access.upstreams,
        cluster.metadata.uid or "",
        load,
        method=request.method,
        path=_kube_path(request, namespace, name, path),
        query=request.scope.get("query_string", b""),
        headers=relay.request_headers(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
        ),
        body=body,
        stream=verbs.is_stream(path, request.query_params),
        stream_limit=access.watch_timeout,
        cluster_name=name,
    )


# One route per method, so each OpenAPI operation has an id of its own (proxyGet, proxyPost...).
for _method in METHODS:
    router.add_api_route(
        f"{PATH}/{{path:path}}",
        proxy,
        methods=[_method],
        operation_id=f"proxy{_method.title()}",
        summary="A cluster's Kubernetes API, through the AccessPoint",
        description="Forwards to the cluster's Kubernetes API as the caller: needs "
        "clusterdeployments/proxy with the request's verb in the cluster's namespace.",
        response_class=Response,
        responses={
            200: {"description": "the cluster's answer, passed through"},
            401: {"description": "no valid Orbit token"},
            403: {"description": "the caller may not use this verb on the cluster"},
            404: {"description": "no such cluster"},
            503: {"description": "the cluster has no reachable Kubernetes API (yet)"},
        },
    )
