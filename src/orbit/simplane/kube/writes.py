"""Writing objects: create, update (PUT), patch, server-side apply and delete.

Each verb runs inside the caller's transaction, after the cluster's resourceVersion counter was
bumped (and its row locked), so one write is one consistent step. Every stored object goes
through :func:`stamp`, which keeps what the server owns (uid, creationTimestamp,
resourceVersion, generation, status of types with a status subresource, managedFields) and runs
the kind's defaults and checks.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from orbit.simplane.kube import errors, fields, meta, objects, patches, scale, workloads
from orbit.simplane.kube.errors import Cause
from orbit.simplane.kube.kinds import CRD_GROUP, ResourceType
from orbit.simplane.kube.objects import Row
from orbit.simplane.kube.prepare import prepare
from orbit.simplane.kube.reads import is_workload

PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass(frozen=True)
class Write:
    """One write request: the cluster, the time, the new resourceVersion and who writes."""

    uid: str
    now: float
    rv: int
    manager: str


def stamp(
    rtype: ResourceType,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    w: Write,
    *,
    track: bool = True,
    subresource: str | None = None,
) -> dict[str, Any]:
    """``new`` ready to store: server-owned metadata, defaults, checks, managedFields."""
    now = meta.timestamp(w.now)
    new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
    md = new.setdefault("metadata", {})
    if old is None:
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now
        md["generation"] = 1
        md.pop("deletionTimestamp", None)
        if rtype.has_status:
            new.pop("status", None)
    else:
        before = old["metadata"]
        for key in ("name", "namespace", *_SERVER_META):
            if key in before:
                md[key] = before[key]
            else:
                md.pop(key, None)
        if rtype.has_status and subresource != "status":
            _keep_status(new, old)
        changed = _spec(old) != _spec(new)
        md["generation"] = int(before.get("generation", 1)) + (1 if changed else 0)
        if "managedFields" not in md and "managedFields" in before:
            md["managedFields"] = before["managedFields"]
        if md.get("managedFields") != before.get("managedFields"):
            track = False  # the client set managedFields itself, as Kubernetes allows
    md["resourceVersion"] = str(w.rv)
    if track:
        fields.track_update(
            old,
            new,
            manager=w.manager,
            api_version=rtype.api_version,
            now=now,
            with_status=not rtype.has_status,
            subresource=subresource or "",
        )
    prepare(rtype, new, old, now=now)
    if is_workload(rtype):
        new.pop("status", None)  # computed on every read
    return new


def _unchanged(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def normal(obj: dict[str, Any]) -> dict[str, Any]:
        md = dict(obj.get("metadata") or {})
        md.pop("resourceVersion", None)
        md["managedFields"] = [
            {k: v for k, v in entry.items() if k != "time"}
            for entry in md.get("managedFields") or []
        ]
        return {**obj, "metadata": md}

    return normal(old) == normal(new)


def _keep_status(new: dict[str, Any], old: dict[str, Any]) -> None:
    if "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    else:
        new.pop("status", None)


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def check_identity(
    rtype: ResourceType, body: dict[str, Any], *, namespace: str | None, name: str | None
) -> str:
    """The object's name, after checking that the body is what the URL says it is."""
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != rtype.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({rtype.api_version})"
        )
    if kind and kind != rtype.kind:
        raise errors.bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
        )
    md = body.get("metadata")
    if md is None:
        md = body["metadata"] = {}
    if not isinstance(md, dict):
        raise errors.bad_request("metadata must be an object")
    given = md.get("name")
    if name is not None and given and given != name:
        raise errors.bad_request(
            f"the name of the object does not match the name on the URL ({given!r} != {name!r})"
        )
    if not given and name is None and md.get("generateName"):
        given = f"{md['generateName']}{workloads.random_suffix()}"
    given = given or name
    if not given:
        cause = Cause(
            "metadata.name",
            "Required value: name or generateName is required",
            "FieldValueRequired",
        )
        raise errors.invalid(rtype.kind, "", [cause], group=rtype.group)
    problem = meta.name_problem(rtype.kind, str(given))
    if problem is not None:
        cause = Cause("metadata.name", f'Invalid value: "{given}": {problem}')
        raise errors.invalid(rtype.kind, str(given), [cause], group=rtype.group)
    md["name"] = given
    if rtype.namespaced:
        if md.get("namespace") and md["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        md["namespace"] = namespace
    else:
        md.pop("namespace", None)
    return str(given)


async def require_namespace(conn: AsyncConnection, uid: str, namespace: str) -> None:
    row = await objects.get(conn, uid, "", "namespaces", "", namespace)
    if row is None:
        raise errors.namespace_not_found(namespace)
    if row.body["metadata"].get("deletionTimestamp"):
        raise errors.forbidden(
            f"unable to create new content in namespace {namespace} because it is being terminated"
        )


def _track_workload(rtype: ResourceType, row: Row, now: float) -> None:
    if is_workload(rtype):
        row.state = workloads.track(rtype.kind, row.body, row.state, now=now)


async def create(
    conn: AsyncConnection, w: Write, rtype: ResourceType, namespace: str, body: dict[str, Any]
) -> Row:
    name = check_identity(rtype, body, namespace=namespace or None, name=None)
    if rtype.namespaced:
        await require_namespace(conn, w.uid, namespace)
    if await objects.get(conn, w.uid, rtype.group, rtype.plural, namespace, name) is not None:
        raise errors.already_exists(rtype.group_resource, name, group=rtype.group)
    new = stamp(rtype, None, body, w)
    row = Row(rtype.group, rtype.plural, namespace, name, new, created_rv=w.rv)
    _track_workload(rtype, row, w.now)
    await objects.insert_row(conn, w.uid, row)
    return row


async def _existing(
    conn: AsyncConnection, w: Write, rtype: ResourceType, namespace: str, name: str
) -> Row:
    row = await objects.get(conn, w.uid, rtype.group, rtype.plural, namespace, name)
    if row is None:
        raise errors.not_found(rtype.group_resource, name, group=rtype.group)
    return row


def _check_version(rtype: ResourceType, row: Row, new: dict[str, Any]) -> None:
    wanted = (new.get("metadata") or {}).get("resourceVersion")
    if wanted and str(wanted) != row.body["metadata"].get("resourceVersion"):
        raise errors.stale(rtype.group_resource, row.name, group=rtype.group)


async def update(
    conn: AsyncConnection,
    w: Write,
    rtype: ResourceType,
    namespace: str,
    name: str,
    body: dict[str, Any],
    *,
    subresource: str | None = None,
) -> Row | None:
    """PUT; returns None if it removed the last finalizer of an object being deleted."""
    if subresource == "scale":
        row = await _existing(conn, w, rtype, namespace, name)
        new = scale.resize(row.body, body)
        _check_version(rtype, row, new)
        return await _store(conn, w, rtype, row, new)
    check_identity(rtype, body, namespace=namespace or None, name=name)
    row = await _existing(conn, w, rtype, namespace, name)
    _check_version(rtype, row, body)
    if subresource == "status":
        new = copy.deepcopy(row.body)
        new["status"] = body.get("status")
        if new["status"] is None:
            new.pop("status")
    else:
        new = body
    return await _store(conn, w, rtype, row, new, subresource=subresource)


async def _store(
    conn: AsyncConnection,
    w: Write,
    rtype: ResourceType,
    row: Row,
    new: dict[str, Any],
    *,
    track: bool = True,
    subresource: str | None = None,
) -> Row | None:
    before = row.body
    row.body = stamp(rtype, before, new, w, track=track, subresource=subresource)
    if row.body["metadata"].get("deletionTimestamp") and not row.body["metadata"].get("finalizers"):
        await _remove(conn, w.uid, rtype, row)
        return None
    if _unchanged(before, row.body):
        row.body = before  # a no-op write keeps its resourceVersion, as in Kubernetes
        return row
    _track_workload(rtype, row, w.now)
    await objects.update_row(conn, w.uid, row)
    return row


async def patch(
    conn: AsyncConnection,
    w: Write,
    rtype: ResourceType,
    namespace: str,
    name: str,
    raw: bytes,
    content_type: str,
    *,
    force: bool,
    subresource: str | None = None,
) -> tuple[Row | None, bool]:
    """Any patch type; returns the row (None if finalized away) and whether it was created."""
    if patches.media_type(content_type) == patches.APPLY:
        return await _apply(conn, w, rtype, namespace, name, raw, force=force)
    row = await _existing(conn, w, rtype, namespace, name)
    if subresource == "scale":
        patched = patches.patch(scale.view(row.body), raw, content_type)
        new = scale.resize(row.body, patched)
        _check_version(rtype, row, new)
        return await _store(conn, w, rtype, row, new), False
    new = patches.patch(copy.deepcopy(row.body), raw, content_type)
    _check_version(rtype, row, new)
    if subresource == "status":
        status = new.get("status")
        new = copy.deepcopy(row.body)
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
    return await _store(conn, w, rtype, row, new, subresource=subresource), False


async def _apply(
    conn: AsyncConnection,
    w: Write,
    rtype: ResourceType,
    namespace: str,
    name: str,
    raw: bytes,
    *,
    force: bool,
) -> tuple[Row | None, bool]:
    config = patches.load_object(raw, patches.APPLY)
    for key in ("apiVersion", "kind"):
        if not config.get(key):
            raise errors.bad_request(f"{key} must be set in a server-side apply request")
    check_identity(rtype, config, namespace=namespace or None, name=name)
    row = await objects.get(conn, w.uid, rtype.group, rtype.plural, namespace, name)
    if row is None and rtype.namespaced:
        await require_namespace(conn, w.uid, namespace)
    result = fields.apply(
        None if row is None else row.body,
        config,
        manager=w.manager,
        force=force,
        api_version=rtype.api_version,
        now=meta.timestamp(w.now),
        with_status=not rtype.has_status,
    )
    if result.conflicts:
        raise errors.apply_conflicts(result.conflicts)
    if row is None:
        new = stamp(rtype, None, result.obj, w, track=False)
        created = Row(rtype.group, rtype.plural, namespace, name, new, created_rv=w.rv)
        _track_workload(rtype, created, w.now)
        await objects.insert_row(conn, w.uid, created)
        return created, True
    return await _store(conn, w, rtype, row, result.obj, track=False), False


async def delete(
    conn: AsyncConnection,
    w: Write,
    rtype: ResourceType,
    namespace: str,
    name: str,
    options: dict[str, Any],
) -> Row:
    """Delete (or, with finalizers, start deleting); returns the row as it was last."""
    row = await _existing(conn, w, rtype, namespace, name)
    md = row.body["metadata"]
    pre = options.get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != md.get("uid"):
        raise errors.KubeError(
            409,
            "Conflict",
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
            f"{md.get('uid')}",
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != md.get("resourceVersion"):
        raise errors.stale(rtype.group_resource, name, group=rtype.group)
    if rtype.kind == "Namespace" and not rtype.group and name in PROTECTED_NAMESPACES:
        raise errors.forbidden(
            f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        )
    if md.get("finalizers"):
        if not md.get("deletionTimestamp"):
            new = copy.deepcopy(row.body)
            new["metadata"]["deletionTimestamp"] = meta.timestamp(w.now)
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            row.body = _mark(rtype, row, new, w)
            await objects.update_row(conn, w.uid, row)
        return row
    await _remove(conn, w.uid, rtype, row)
    return row


def _mark(rtype: ResourceType, row: Row, new: dict[str, Any], w: Write) -> dict[str, Any]:
    """``new`` (a deletionTimestamp added) stored as is, with a new resourceVersion."""
    new["metadata"]["resourceVersion"] = str(w.rv)
    if rtype.kind == "Namespace" and not rtype.group:
        new["status"] = {"phase": "Terminating"}
    return new


async def _remove(conn: AsyncConnection, uid: str, rtype: ResourceType, row: Row) -> None:
    await objects.delete_row(conn, uid, row)
    if rtype.kind == "Namespace" and not rtype.group:
        await objects.delete_namespace(conn, uid, row.name)
    elif rtype.group == CRD_GROUP and rtype.kind == "CustomResourceDefinition":
        spec = row.body.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        if spec.get("group") and plural:
            await objects.delete_type(conn, uid, str(spec["group"]), str(plural))
