"""The ``/status`` subresource of kinds with ``HAS_STATUS``: how controllers report what they see.

A status write changes only the status (``store.update_status``): it never bumps generation and
never passes through admission, which guards the spec.
"""

# No ``from __future__ import annotations``: FastAPI resolves these closures' annotations at
# runtime (see routes/resources.py).
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from orbit.api import v1alpha1
from orbit.server import bodies, paths
from orbit.server.deps import StoreDep
from orbit.server.routes import common
from orbit.server.routes.resources import apply_patch, permission


def register(router: APIRouter, cls: type[v1alpha1.Resource]) -> None:
    """Add GET/PUT/PATCH ``.../{name}/status`` for ``cls`` (a no-op without HAS_STATUS)."""
    if not cls.HAS_STATUS:
        return
    scope = common.namespace_dependency(cls)
    kind = cls.KIND

    async def read_status(
        store: StoreDep, namespace: Annotated[str | None, Depends(scope)], name: str
    ) -> Response:
        return common.object_response(await store.get(cls, namespace, name))

    async def replace_status(
        request: Request,
        store: StoreDep,
        namespace: Annotated[str | None, Depends(scope)],
        name: str,
    ) -> Response:
        data = bodies.align(cls, await bodies.read(request), namespace=namespace, name=name)
        obj = bodies.validate(cls, data)
        return common.object_response(await store.update_status(obj))

    async def patch_status(
        request: Request,
        store: StoreDep,
        namespace: Annotated[str | None, Depends(scope)],
        name: str,
    ) -> Response:
        merge = await bodies.read_patch(request)
        obj = await apply_patch(store, cls, namespace, name, merge, status_only=True)
        return common.object_response(obj)

    path = f"{paths.item(cls)}/status"
    routes: list[tuple[Any, str, str, str, dict[str, Any]]] = [
        (read_status, "GET", "read", "get", {}),
        (replace_status, "PUT", "replace", "update", {"openapi_extra": common.request_body(cls)}),
        (patch_status, "PATCH", "patch", "patch", {"openapi_extra": common.MERGE_PATCH_BODY}),
    ]
    for endpoint, method, op, verb, extra in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            dependencies=[Depends(permission(cls, verb, subresource="status"))],
            operation_id=f"{op}{kind}Status",
            summary=f"{op.capitalize()} the status of a {kind}",
            tags=[cls.PLURAL],
            response_model=cls,
            responses=common.ERROR_RESPONSES,
            **extra,
        )
