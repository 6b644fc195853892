"""The verbs of one kind (list, watch, get, create, replace, merge patch, delete), generated from
the kind's class variables so every kind in ``v1alpha1.KINDS`` is served and documented alike.

Create, replace and patch pass through admission before the store (delete too, when the
admission has ``admit_delete``); the store owns uid, resourceVersion, generation and
finalizers. A merge patch is applied to the stored object and
written with its resourceVersion, retried on a concurrent write unless the patch pinned one.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at
# runtime, and they refer to this function's locals (the kind's namespace dependency).
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from orbit import errors
from orbit.api import patch, v1alpha1
from orbit.server import auth, bodies, credentials, paths
from orbit.server.deps import (
    Admission,
    AdmissionDep,
    BookmarkSecondsDep,
    DeleteAdmission,
    StoreDep,
)
from orbit.server.routes import common, watch
from orbit.store.base import ResourceStore

PATCH_ATTEMPTS = 5


def pinned_version(merge: dict[str, Any]) -> str | None:
    """The resourceVersion a patch carries, if any: then a stale write is a Conflict."""
    meta = merge.get("metadata")
    version = meta.get("resourceVersion") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


async def apply_patch(
    store: ResourceStore,
    cls: type[v1alpha1.Resource],
    namespace: str | None,
    name: str,
    merge: dict[str, Any],
    *,
    status_only: bool,
    admission: Admission | None = None,
    write: credentials.Writer | None = None,
) -> v1alpha1.Resource:
    """Merge ``merge`` into the stored object and write it (main resource or status);
    ``write(obj, current)`` instead of ``store.update(obj)`` when given."""
    pinned = pinned_version(merge)
    for attempt in range(1, PATCH_ATTEMPTS + 1):
        current = await store.get(cls, namespace, name)
        merged = patch.merge_patch(current.to_dict(), merge)
        data = bodies.align(cls, merged, namespace=namespace, name=name)
        if pinned is None and isinstance(data.get("metadata"), dict):
            data["metadata"]["resourceVersion"] = current.metadata.resource_version
        obj = bodies.validate(cls, data)
        try:
            if status_only:
                return await store.update_status(obj)
            if admission is not None:
                obj = await admission.admit(obj, current)
            return await (write(obj, current) if write else store.update(obj))
        except errors.Conflict:
            if pinned is not None or attempt == PATCH_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def dry(obj: v1alpha1.Resource) -> v1alpha1.Resource:
    """What a dry run answers: the admitted object, never a secret value."""
    if isinstance(obj, v1alpha1.Credential):
        spec = obj.spec.model_copy(update={"secret_data": None})
        return obj.model_copy(update={"spec": spec})
    return obj


async def _dry_write(obj: v1alpha1.Resource, current: v1alpha1.Resource) -> v1alpha1.Resource:
    return dry(obj)


def cleared_status(obj: v1alpha1.Resource) -> v1alpha1.Resource:
    """Status is written by controllers through the status subresource; a create through the
    API starts from the kind's default status, as Kubernetes does."""
    if not obj.HAS_STATUS or "status" not in type(obj).model_fields:
        return obj
    default = type(obj).model_fields["status"].get_default(call_default_factory=True)
    return obj.model_copy(update={"status": default})


def register(router: APIRouter, cls: type[v1alpha1.Resource]) -> None:
    """Add the routes of ``cls`` to ``router``."""
    scope = common.namespace_dependency(cls)
    kind = cls.KIND

    async def list_objects(
        store: StoreDep,
        bookmark_seconds: BookmarkSecondsDep,
        namespace: Annotated[str | None, Depends(scope)],
        params: Annotated[common.ListParams, Depends(common.list_params)],
    ) -> Response:
        return await _list(store, cls, namespace, params, bookmark_seconds=bookmark_seconds)

    async def list_all_namespaces(
        store: StoreDep,
        bookmark_seconds: BookmarkSecondsDep,
        params: Annotated[common.ListParams, Depends(common.list_params)],
    ) -> Response:
        return await _list(store, cls, None, params, bookmark_seconds=bookmark_seconds)

    async def get_object(
        store: StoreDep, namespace: Annotated[str | None, Depends(scope)], name: str
    ) -> Response:
        return common.object_response(await store.get(cls, namespace, name))

    async def create_object(
        request: Request,
        store: StoreDep,
        admission: AdmissionDep,
        namespace: Annotated[str | None, Depends(scope)],
        dry_run: common.DryRunParam = None,
    ) -> Response:
        data = bodies.align(cls, await bodies.read(request), namespace=namespace)
        obj = cleared_status(bodies.validate(cls, data))
        obj = await admission.admit(obj, None)
        if dry_run:
            return common.object_response(dry(obj), status_code=201)
        created = await credentials.create(request, store, obj)
        return common.object_response(created, status_code=201)

    async def replace_object(
        request: Request,
        store: StoreDep,
        admission: AdmissionDep,
        namespace: Annotated[str | None, Depends(scope)],
        name: str,
        dry_run: common.DryRunParam = None,
    ) -> Response:
        data = bodies.align(cls, await bodies.read(request), namespace=namespace, name=name)
        obj = bodies.validate(cls, data)
        old = await store.get(cls, namespace, name)
        obj = await admission.admit(obj, old)
        if dry_run:
            return common.object_response(dry(obj))
        return common.object_response(await credentials.replace(request, store, obj, old))

    async def patch_object(
        request: Request,
        store: StoreDep,
        admission: AdmissionDep,
        namespace: Annotated[str | None, Depends(scope)],
        name: str,
        dry_run: common.DryRunParam = None,
    ) -> Response:
        merge = await bodies.read_patch(request)
        merge, write = credentials.split_patch(request, store, cls, merge)
        if dry_run:
            write = _dry_write
        obj = await apply_patch(
            store, cls, namespace, name, merge, status_only=False, admission=admission, write=write
        )
        return common.object_response(obj)

    async def delete_object(
        store: StoreDep,
        admission: AdmissionDep,
        namespace: Annotated[str | None, Depends(scope)],
        name: str,
        dry_run: common.DryRunParam = None,
    ) -> Response:
        if isinstance(admission, DeleteAdmission) or dry_run:
            current = await store.get(cls, namespace, name)
            deleting = current.metadata.deletion_timestamp is not None
            if isinstance(admission, DeleteAdmission) and not deleting:
                await admission.admit_delete(current)
            if dry_run:
                return common.object_response(dry(current))
        return common.object_response(await store.delete(cls, namespace, name))

    def route(
        path: str,
        endpoint: Any,
        method: str,
        op: str,
        summary: str,
        *,
        verb: str,
        across: bool = False,
        **extra: Any,
    ) -> None:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            dependencies=[Depends(permission(cls, verb, across=across))],
            operation_id=op.format(kind=kind),
            summary=summary,
            tags=[cls.PLURAL],
            responses=common.ERROR_RESPONSES,
            **extra,
        )

    collection, item = paths.collection(cls), paths.item(cls)
    listed = common.list_model(cls)
    body = common.request_body(cls)
    route(collection, list_objects, "GET", "list{kind}", f"List or watch {cls.PLURAL}",
          verb="list", across=not cls.NAMESPACED, response_model=listed)  # fmt: skip
    if cls.NAMESPACED:
        route(paths.all_namespaces(cls), list_all_namespaces, "GET", "list{kind}ForAllNamespaces",
              f"List or watch {cls.PLURAL} in every namespace", verb="list", across=True,
              response_model=listed)  # fmt: skip
    route(collection, create_object, "POST", "create{kind}", f"Create a {kind}", status_code=201,
          verb="create", response_model=cls, openapi_extra=body)  # fmt: skip
    route(item, get_object, "GET", "read{kind}", f"Read a {kind}", verb="get", response_model=cls)
    route(item, replace_object, "PUT", "replace{kind}", f"Replace a {kind}", verb="update",
          response_model=cls, openapi_extra=body)  # fmt: skip
    route(item, patch_object, "PATCH", "patch{kind}", f"Merge-patch a {kind}", verb="patch",
          response_model=cls, openapi_extra=common.MERGE_PATCH_BODY)  # fmt: skip
    route(item, delete_object, "DELETE", "delete{kind}", f"Delete a {kind}", verb="delete",
          response_model=cls,
          description="Returns the object's last state; with finalizers it lingers, marked "
          "with deletionTimestamp, until they are removed.")  # fmt: skip


def permission(
    cls: type[v1alpha1.Resource], verb: str, *, across: bool = False, subresource: str = ""
) -> Any:
    """The authorization dependency of one route of ``cls``: the permission is checked in the
    ``{namespace}`` of the path; cluster-scoped kinds and cross-namespace lists (``across``)
    need a global role; a Namespace's own item routes are checked in that namespace."""
    resource = f"{cls.PLURAL}/{subresource}" if subresource else cls.PLURAL
    if across:
        return auth.require(verb, resource, namespace_param=None)
    if cls is v1alpha1.Namespace:
        return auth.require(verb, resource, namespace_param="name")
    return auth.require(verb, resource, namespace_param="namespace" if cls.NAMESPACED else None)


async def _list(
    store: ResourceStore,
    cls: type[v1alpha1.Resource],
    namespace: str | None,
    params: common.ListParams,
    *,
    bookmark_seconds: float,
) -> Response:
    selector = common.parse_selector(params.label_selector)
    if params.watch:
        return watch.watch_response(
            store,
            cls,
            namespace=namespace,
            selector=selector,
            since=watch.parse_since(params.resource_version),
            timeout=params.timeout_seconds,
            bookmark_seconds=bookmark_seconds,
        )
    result = await store.list(
        cls,
        namespace,
        selector=selector or None,
        limit=params.limit or None,
        continue_token=params.continue_token,
    )
    return common.list_response(cls, result)
