"""The verbs on one resource type: get, list (and watch), create, update, patch, delete,
deletecollection. Each turns a request into a :class:`~orbit.simplane.kube.routing.Reply`;
errors are raised as :class:`~orbit.simplane.kube.errors.KubeError`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from orbit.simplane.engine import Record
from orbit.simplane.kube import (
    errors,
    meta,
    objects,
    patches,
    reads,
    routing,
    scale,
    tables,
    watch,
    writes,
)
from orbit.simplane.kube import workloads as workload_state
from orbit.simplane.kube.kinds import BUILTINS, ResourceType
from orbit.simplane.kube.routing import Reply, Resource
from orbit.simplane.kube.simulation import Simulation
from orbit.simplane.kube.store import Ctx, Store, Txn

log = logging.getLogger(__name__)

_POD = next(t for t in BUILTINS if t.kind == "Pod")
_RESHAPING = frozenset({("", "namespaces"), ("apiextensions.k8s.io", "customresourcedefinitions")})


def _wants_table(ctx: Ctx) -> bool:
    return routing.wants_table(ctx.request.headers.get("accept"))


async def get(store: Store, ctx: Ctx, rtype: ResourceType, target: Resource) -> Reply:
    assert target.name is not None
    async with store.connect() as conn:
        version = 0
        if reads.is_simulated(rtype) or rtype.derived:  # stored objects carry their own
            version = await objects.counter(conn, ctx.uid) or 0

        async def simulate() -> Simulation:
            return await store.simulation(conn, ctx, version=version)

        found = await reads.one(
            conn,
            ctx.rec,
            rtype,
            target.namespace or "",
            target.name,
            simulate=simulate,
            resource_version=str(version),
        )
    if found is None:
        raise errors.not_found(rtype.group_resource, target.name, group=rtype.group)
    if target.subresource == "scale":
        return Reply(200, scale.view(found))
    if target.subresource == "log":
        return Reply(200, b"", "text/plain")  # simulated containers print nothing
    if _wants_table(ctx):
        return Reply(200, tables.table(rtype, [found], now=ctx.now, resource_version=""))
    return Reply(200, found)


async def list_or_watch(
    store: Store, ctx: Ctx, rtype: ResourceType, namespace: str | None, *, load: Any
) -> Reply:
    """List; with ``watch=true`` a stream of changes instead (``load`` re-reads the cluster)."""
    selector = meta.label_selector(ctx.param("labelSelector"))
    terms = meta.field_selector(ctx.param("fieldSelector"))

    async def fetch(now_ctx: Ctx) -> tuple[str, list[dict[str, Any]]]:
        async with store.connect() as conn:
            version = await objects.counter(conn, now_ctx.uid) or 0

            async def simulate() -> Simulation:
                return await store.simulation(conn, now_ctx, version=version)

            found = await reads.collect(
                conn,
                now_ctx.rec,
                rtype,
                namespace,
                simulate=simulate,
                resource_version=str(version),
            )
        matching = (o for o in found if meta.fields_match(o, terms))
        return str(version), [o for o in matching if selector.matches(meta.labels(o))]

    if ctx.param("watch") in ("true", "1"):

        async def poll() -> list[dict[str, Any]] | None:
            rec: Record | None = await load(ctx.uid)
            if rec is None:
                return None
            fresh = Ctx(rec, store.settings.clock(), ctx.request)
            return (await fetch(fresh))[1]

        seconds = watch.timeout_of(ctx.param("timeoutSeconds"))
        return Reply(200, watch.stream(poll, since=ctx.param("resourceVersion"), seconds=seconds))
    version, items = await fetch(ctx)
    if _wants_table(ctx):
        return Reply(200, tables.table(rtype, items, now=ctx.now, resource_version=version))
    listing = {
        "kind": f"{rtype.kind}List",
        "apiVersion": rtype.api_version,
        "metadata": {"resourceVersion": version},
        "items": items,
    }
    return Reply(200, listing)


async def _shown(store: Store, ctx: Ctx, txn: Txn, rtype: ResourceType, row: objects.Row) -> Any:
    """The written object as the response shows it.

    Workloads and pods need the cluster's simulation: it is computed after the transaction
    (outside the cluster's write lock) from the rows the write moved forward in the cache, or,
    for a dry run, from the rows inside the transaction that is about to be rolled back.
    """
    if not reads.is_simulated(rtype):
        return reads.present(rtype, row.body)
    if ctx.param("dryRun"):
        rows = await objects.list_types(txn.conn, ctx.uid, objects.WORKLOADS)
        rows = [r for r in rows if _key(r) != _key(row)] + [row]
        sim = Simulation(ctx.rec, rows, now=ctx.now, pod_latency=store.settings.pod_latency)
        return reads.shown_row(sim, rtype, row)
    return None  # computed by _after


async def _after(
    store: Store, ctx: Ctx, txn: Txn, rtype: ResourceType, row: objects.Row, shown: Any
) -> Any:
    if shown is not None:
        return shown
    async with store.connect() as conn:
        sim = await store.simulation(conn, ctx, version=txn.w.rv)
    return reads.shown_row(sim, rtype, row)


def _as(target: Resource, shown: Any) -> Any:
    """The response of a write to a subresource: a Scale for ``/scale``."""
    return scale.view(shown) if target.subresource == "scale" else shown


def _key(row: objects.Row) -> tuple[str, str, str, str]:
    return (row.group, row.resource, row.namespace, row.name)


async def create(store: Store, ctx: Ctx, rtype: ResourceType, namespace: str) -> Reply:
    body = patches.load_object(ctx.request.body, ctx.content_type)
    async with store.write(ctx) as txn:
        row = await writes.create(txn.conn, txn.w, rtype, namespace, body)
        txn.saved(row)
        shown = await _shown(store, ctx, txn, rtype, row)
    log.debug("Created %s %s/%s in cluster uid=%s", rtype.kind, namespace, row.name, ctx.uid)
    return Reply(201, await _after(store, ctx, txn, rtype, row, shown))


async def update(
    store: Store, ctx: Ctx, rtype: ResourceType, namespace: str, target: Resource
) -> Reply:
    assert target.name is not None
    body = patches.load_object(ctx.request.body, ctx.content_type)
    async with store.write(ctx) as txn:
        row = await writes.update(
            txn.conn, txn.w, rtype, namespace, target.name, body, subresource=target.subresource
        )
        if row is None:
            txn.reshaped = True
            return Reply(200, _deleted(rtype, body))
        txn.saved(row)
        shown = await _shown(store, ctx, txn, rtype, row)
    return Reply(200, _as(target, await _after(store, ctx, txn, rtype, row, shown)))


async def patch(
    store: Store, ctx: Ctx, rtype: ResourceType, namespace: str, target: Resource
) -> Reply:
    assert target.name is not None
    force = ctx.param("force") in ("true", "1")
    async with store.write(ctx) as txn:
        row, created = await writes.patch(
            txn.conn,
            txn.w,
            rtype,
            namespace,
            target.name,
            ctx.request.body,
            ctx.content_type,
            force=force,
            subresource=target.subresource,
        )
        if row is None:
            txn.reshaped = True
            return Reply(200, _deleted(rtype, {"metadata": {"name": target.name}}))
        txn.saved(row)
        shown = await _shown(store, ctx, txn, rtype, row)
    shown = _as(target, await _after(store, ctx, txn, rtype, row, shown))
    return Reply(201 if created else 200, shown)


async def delete(store: Store, ctx: Ctx, rtype: ResourceType, namespace: str, name: str) -> Reply:
    options = _options(ctx.request.body)
    async with store.write(ctx) as txn:
        if (rtype.group, rtype.plural) == ("", "pods"):
            replaced = await _replace_simulated_pod(store, ctx, txn, namespace, name)
            if replaced is not None:
                return Reply(200, replaced)
        row = await writes.delete(txn.conn, txn.w, rtype, namespace, name, options)
        txn.reshaped = (rtype.group, rtype.plural) in _RESHAPING
        if row.body["metadata"].get("deletionTimestamp"):
            txn.saved(row)
            return Reply(200, reads.present(rtype, row.body))
        txn.removed(row)
    return Reply(200, _deleted(rtype, row.body))


async def _replace_simulated_pod(
    store: Store, ctx: Ctx, txn: Txn, namespace: str, name: str
) -> dict[str, Any] | None:
    """A workload's pod: its controller replaces it at once. None if it is a bare pod."""
    rows = await objects.list_types(txn.conn, ctx.uid, objects.WORKLOADS)
    sim = Simulation(ctx.rec, rows, now=ctx.now, pod_latency=store.settings.pod_latency)
    pod = sim.owner_of(namespace, name)
    if pod is None or pod.owner is None:
        return None
    shown = sim.pod_object(pod)
    owner = pod.owner
    if owner.resource != "daemonsets" and owner.state is not None:
        kind = {"deployments": "Deployment", "statefulsets": "StatefulSet"}[owner.resource]
        state = workload_state.replace_pod(kind, owner.body, owner.state, name, now=txn.w.now)
        owner = dataclasses.replace(owner, state=state)
        await objects.update_row(txn.conn, txn.w.uid, owner)
        txn.saved(owner)
    return _deleted(_POD, shown)


async def delete_collection(
    store: Store, ctx: Ctx, rtype: ResourceType, namespace: str | None
) -> Reply:
    selector = meta.label_selector(ctx.param("labelSelector"))
    terms = meta.field_selector(ctx.param("fieldSelector"))
    deleted = []
    async with store.write(ctx) as txn:
        txn.reshaped = True
        rows = await objects.list_rows(txn.conn, ctx.uid, rtype.group, rtype.plural, namespace)
        for row in rows:
            body = row.body
            if not (selector.matches(meta.labels(body)) and meta.fields_match(body, terms)):
                continue
            if rtype.kind == "Namespace" and row.name in writes.PROTECTED_NAMESPACES:
                continue
            gone = await writes.delete(txn.conn, txn.w, rtype, row.namespace, row.name, {})
            deleted.append(reads.present(rtype, gone.body))
    listing = {
        "kind": f"{rtype.kind}List",
        "apiVersion": rtype.api_version,
        "metadata": {},
        "items": deleted,
    }
    return Reply(200, listing)


def _deleted(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    details: dict[str, Any] = {"name": md.get("name", ""), "kind": rtype.plural}
    if rtype.group:
        details["group"] = rtype.group
    if md.get("uid"):
        details["uid"] = md["uid"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _options(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        options = json.loads(raw)
    except ValueError:
        message = "the DeleteOptions in the request body could not be decoded"
        raise errors.bad_request(message) from None
    return options if isinstance(options, dict) else {}
