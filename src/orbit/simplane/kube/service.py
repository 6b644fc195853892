"""KubeAPI: the Kubernetes API of every cluster of one plane, request in, reply out.

``serve`` authenticates the bearer token against the cluster's record, routes the path
(:mod:`routing`) to a document (:mod:`discovery`) or a verb (:mod:`handlers`). Every failure
becomes a Kubernetes ``Status`` reply; nothing raises to the web framework.

A cluster's API is set up on first use (its counter and the ``default``, ``kube-system`` and
``kube-public`` namespaces), which also covers clusters created before the API existed.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from orbit.simplane.engine import Record
from orbit.simplane.kube import discovery, errors, handlers, objects, routing, scale, writes
from orbit.simplane.kube.kinds import BUILTINS, GROUP_ORDER, Catalog, ResourceType
from orbit.simplane.kube.routing import Document, Reply, Resource
from orbit.simplane.kube.store import Ctx, Hold, Request, Store
from orbit.simplane.models import SimFault
from orbit.simplane.settings import SimPlaneSettings

log = logging.getLogger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
_NAMESPACE = next(t for t in BUILTINS if t.kind == "Namespace")
_BUILTIN = Catalog()
_READ_ONLY = "the server does not allow this method on the requested resource"

Loader = Callable[[str], Awaitable[Record | None]]

__all__ = ["KubeAPI", "Request"]


class KubeAPI:
    """Served by :mod:`orbit.simplane.kube.http`; ``SimPlane.kube`` is the plane's instance."""

    def __init__(
        self, *, sql: AsyncEngine, hold: Hold, settings: SimPlaneSettings, load: Loader
    ) -> None:
        self._store = Store(sql=sql, hold=hold, settings=settings)
        self._settings = settings
        self._load = load
        self._ready: set[tuple[str, float]] = set()

    async def serve(self, uid: str, token: str | None, request: Request) -> Reply:
        """Answer one request to cluster ``uid``'s API, authenticated by ``token``."""
        try:
            rec = await self._load(uid)
            if rec is None:
                raise errors.KubeError(
                    404,
                    "NotFound",
                    f'simulated cluster "{uid}" not found',
                    {"name": uid, "kind": "clusters"},
                )
            if not token or not hmac.compare_digest(rec.token.encode(), token.encode()):
                raise errors.unauthorized()
            ctx = Ctx(rec, self._settings.clock(), request)
            target = routing.parse(request.path)
            if isinstance(target, Document):
                return await self._document(ctx, target)
            await self._setup(ctx)
            return await self._resource(ctx, target)
        except errors.KubeError as exc:
            return routing.status_reply(exc)
        except SimFault as exc:
            return routing.status_reply(errors.unavailable(str(exc)))
        except DBAPIError as exc:
            log.warning("Simulated Kubernetes API database error: %s", exc)
            message = f"the simulated cluster's storage is unavailable ({type(exc.orig).__name__})"
            return routing.status_reply(errors.unavailable(message))
        except PoolTimeout:
            message = "the simulated cluster's storage is too busy; retry"
            return routing.status_reply(errors.unavailable(message))

    def forget(self, uid: str) -> None:
        """Drop what this process remembers of a cluster (it was deleted)."""
        self._ready = {k for k in self._ready if k[0] != uid}
        self._store.cache.drop(uid)

    async def _setup(self, ctx: Ctx) -> None:
        key = (ctx.uid, ctx.rec.created_at)
        if key in self._ready:
            return
        async with self._store.connect() as conn:
            found = await objects.counter(conn, ctx.uid)
        if found is None:
            async with self._store.hold(ctx.uid):
                with contextlib.suppress(IntegrityError):  # another process set it up first
                    await self._create_api(ctx.rec)
        self._ready.add(key)

    async def _create_api(self, rec: Record) -> None:
        async with self._store.connect() as conn, conn.begin():
            if await objects.counter(conn, rec.uid) is not None:
                return
            log.info("Setting up the Kubernetes API of simulated cluster uid=%s", rec.uid)
            await objects.create_counter(conn, rec.uid, created_at=rec.created_at)
            w = writes.Write(rec.uid, rec.created_at, 1, "k3s")
            for name in DEFAULT_NAMESPACES:
                body = writes.stamp(_NAMESPACE, None, {"metadata": {"name": name}}, w, track=False)
                row = objects.Row("", "namespaces", "", name, body, created_rv=1)
                await objects.insert_row(conn, rec.uid, row)

    async def _catalog(self, uid: str, group: str | None) -> Catalog:
        """Built-ins, plus the cluster's CRDs unless ``group`` is a built-in group."""
        if group is not None and group in GROUP_ORDER:
            return _BUILTIN
        async with self._store.connect() as conn:
            rows = await objects.list_rows(conn, uid, *objects.CRDS, "")
        return Catalog(r.body for r in rows)

    async def _document(self, ctx: Ctx, doc: Document) -> Reply:
        if ctx.request.method != "GET":
            raise errors.method_not_allowed(_READ_ONLY)
        if doc.what == "version":
            return Reply(200, discovery.version_info(ctx.rec))
        if doc.what == "health":
            return Reply(200, b"ok", "text/plain")
        if doc.what == "versions":
            return Reply(200, discovery.api_versions())
        await self._setup(ctx)
        catalog = await self._catalog(ctx.uid, None)
        body: dict[str, Any] | None
        if doc.what == "groups":
            body = discovery.api_group_list(catalog)
        elif doc.what == "group":
            body = discovery.api_group(catalog, doc.group)
        elif doc.what == "resources":
            body = discovery.resource_list(catalog, doc.group, doc.version)
        elif doc.version:
            body = discovery.openapi_document(catalog, doc.group, doc.version)
        else:
            body = discovery.openapi_index(catalog)
        if body is None:
            raise errors.page_not_found()
        return Reply(200, body)

    async def _resource(self, ctx: Ctx, target: Resource) -> Reply:
        catalog = await self._catalog(ctx.uid, target.group)
        rtype = catalog.lookup(target.group, target.version, target.plural)
        if rtype is None or not _addressable(rtype, target):
            raise errors.page_not_found()
        method, store = ctx.request.method, self._store
        if method == "GET":
            if target.name is None:
                return await handlers.list_or_watch(
                    store, ctx, rtype, target.namespace, load=self._load
                )
            return await handlers.get(store, ctx, rtype, target)
        if not rtype.writable or (rtype.derived and rtype.plural != "pods"):
            raise errors.method_not_allowed(_READ_ONLY)
        namespace = target.namespace or ""
        if target.name is None:
            if method == "POST":
                return await handlers.create(store, ctx, rtype, namespace)
            if method == "DELETE":
                return await handlers.delete_collection(store, ctx, rtype, target.namespace)
        elif method == "PUT":
            return await handlers.update(store, ctx, rtype, namespace, target)
        elif method == "PATCH":
            return await handlers.patch(store, ctx, rtype, namespace, target)
        elif method == "DELETE":
            return await handlers.delete(store, ctx, rtype, namespace, target.name)
        raise errors.method_not_allowed(_READ_ONLY)


def _addressable(rtype: ResourceType, target: Resource) -> bool:
    """Whether the path fits the type: namespaced items under a namespace, known subresource."""
    if target.namespace is not None and not rtype.namespaced:
        return False
    if target.name is not None and rtype.namespaced and target.namespace is None:
        return False
    match target.subresource:
        case None:
            return True
        case "status":
            return rtype.has_status
        case "scale":
            return (rtype.group, rtype.plural) in scale.SCALABLE
        case "log":
            return (rtype.group, rtype.plural) == ("", "pods")
    return False
