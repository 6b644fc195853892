"""The store's object rules as pure functions over JSON bodies (no I/O, no SQL).

What the API server would do to an object on each verb: which fields the server owns, when
``generation`` bumps, which finalizer edits are allowed, and the exact Kubernetes wording of
the errors. :mod:`orbit.store.sql` runs these inside its transactions; keeping them pure keeps
the transaction code short and the rules readable in one place.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from typing import Any

from orbit import errors
from orbit.api import v1alpha1

Body = dict[str, Any]

# Top-level keys that are not "the spec": changes to anything else bump the generation.
_NOT_SPEC = frozenset({"apiVersion", "kind", "metadata", "status"})
# Metadata the server owns: an update or status write never takes these from the client.
_SERVER_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp")
# Metadata a client may replace with update().
_CLIENT_META = ("labels", "annotations", "finalizers")


def spec_of(body: Body) -> Body:
    """The part of ``body`` whose changes bump ``generation``."""
    return {k: v for k, v in body.items() if k not in _NOT_SPEC}


def same_content(a: Body, b: Body) -> bool:
    """Whether two bodies differ in nothing but ``resourceVersion`` (a no-op write)."""
    strip = ("resourceVersion",)
    meta_a = {k: v for k, v in a.get("metadata", {}).items() if k not in strip}
    meta_b = {k: v for k, v in b.get("metadata", {}).items() if k not in strip}
    return meta_a == meta_b and {**a, "metadata": None} == {**b, "metadata": None}


def not_found(cls: type[v1alpha1.Resource], name: str) -> errors.NotFound:
    return errors.NotFound(f'{cls.PLURAL} "{name}" not found', kind=cls.KIND, name=name)


def namespace_not_found(namespace: str) -> errors.NotFound:
    return errors.NotFound(f'namespace "{namespace}" not found', kind="Namespace", name=namespace)


def stale(cls: type[v1alpha1.Resource], name: str) -> errors.Conflict:
    return errors.Conflict(
        f'Operation cannot be fulfilled on {cls.PLURAL} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        kind=cls.KIND,
        name=name,
    )


def check_preconditions(
    cls: type[v1alpha1.Resource], stored: Body, *, resource_version: str | None, uid: str | None
) -> None:
    """Conflict when the client's ``resourceVersion`` (or ``uid``) is not the stored one."""
    meta = stored["metadata"]
    if uid is not None and uid != meta["uid"]:
        raise errors.Conflict(
            f'Operation cannot be fulfilled on {cls.PLURAL} "{meta["name"]}": Precondition '
            f"failed: UID in precondition: {uid}, UID in object meta: {meta['uid']}",
            kind=cls.KIND,
            name=meta["name"],
        )
    if resource_version and resource_version != meta["resourceVersion"]:
        raise stale(cls, meta["name"])


def key_of(cls: type[v1alpha1.Resource], namespace: str | None, name: str) -> tuple[str, str]:
    """(namespace column, name): ``''`` for cluster-scoped kinds; a namespaced kind needs one."""
    if not cls.NAMESPACED:
        return "", name
    if not namespace:
        raise errors.BadRequest(f"{cls.KIND} is namespaced: give the namespace of {name!r}")
    return namespace, name


def new_body(obj: v1alpha1.Resource, *, created: str, uid: str | None = None) -> Body:
    """The stored form of a created object (without ``resourceVersion``, set at write time).
    ``uid``: one the caller chose (to bind sealed secrets to the object before it exists);
    a fresh one otherwise."""
    cls = type(obj)
    body = obj.to_dict()
    meta = body["metadata"]
    if cls.NAMESPACED and not meta.get("namespace"):
        raise errors.invalid(
            cls.KIND,
            obj.metadata.name,
            errors.Cause("metadata.namespace", "Required value", reason="FieldValueRequired"),
        )
    if not cls.NAMESPACED:
        meta.pop("namespace", None)
    for key in ("resourceVersion", "deletionTimestamp"):
        meta.pop(key, None)
    if uid is not None:
        try:
            uid = str(uuid.UUID(uid))
        except ValueError:
            raise errors.BadRequest(f"uid {uid!r} is not a UUID") from None
    meta.update(uid=uid or str(uuid.uuid4()), creationTimestamp=created, generation=1)
    return body


def updated_body(cls: type[v1alpha1.Resource], stored: Body, incoming: Body) -> Body:
    """``update``: the client's labels, annotations, finalizers and spec over the stored object,
    which keeps its identity, server-managed metadata and (when the kind has a status
    subresource) its status."""
    body = {k: copy.deepcopy(v) for k, v in incoming.items() if k not in ("metadata", "status")}
    body["apiVersion"], body["kind"] = stored["apiVersion"], stored["kind"]
    old_meta, new_meta = stored["metadata"], incoming.get("metadata", {})
    meta = {k: old_meta[k] for k in ("name", "namespace", *_SERVER_META) if k in old_meta}
    for key in _CLIENT_META:
        if key in new_meta:
            meta[key] = copy.deepcopy(new_meta[key])
    body["metadata"] = meta
    status = stored.get("status") if cls.HAS_STATUS else incoming.get("status")
    if status is not None:
        body["status"] = copy.deepcopy(status)
    if "deletionTimestamp" in old_meta:
        added = [f for f in meta.get("finalizers", []) if f not in old_meta.get("finalizers", [])]
        if added:
            raise errors.invalid(
                cls.KIND,
                old_meta["name"],
                errors.Cause(
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {added}",
                    reason="FieldValueForbidden",
                ),
            )
    if spec_of(body) != spec_of(stored):
        meta["generation"] = old_meta.get("generation", 1) + 1
    return body


def with_new_spec(stored: Body, body: Body) -> Body:
    """``body`` after a write of the object's sealed secrets (its write-only spec): that is a
    spec change, so ``generation`` bumps even when the visible spec did not change."""
    if spec_of(body) == spec_of(stored):
        body["metadata"]["generation"] = stored["metadata"].get("generation", 1) + 1
    return body


def status_body(stored: Body, incoming: Body) -> Body:
    """``update_status``: the stored object with the client's status, nothing else."""
    body = copy.deepcopy(stored)
    status = incoming.get("status")
    if status is None:
        body.pop("status", None)
    else:
        body["status"] = copy.deepcopy(status)
    return body


def marked_for_deletion(stored: Body, *, now: str) -> Body:
    body = copy.deepcopy(stored)
    body["metadata"]["deletionTimestamp"] = now
    return body


def is_deleting(body: Body) -> bool:
    return "deletionTimestamp" in body["metadata"]


def has_finalizers(body: Body) -> bool:
    return bool(body["metadata"].get("finalizers"))


def namespace_not_empty(name: str, counts: Counter[str]) -> errors.Conflict:
    """Deleting a Namespace that still holds objects: say how many of which kinds remain."""
    held = ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(counts.items()))
    return errors.Conflict(
        f'Operation cannot be fulfilled on namespaces "{name}": the namespace still holds '
        f"{held}; delete them first",
        kind="Namespace",
        name=name,
    )


def namespace_terminating(namespace: str) -> errors.Conflict:
    return errors.Conflict(
        f"unable to create new content in namespace {namespace} because it is being terminated",
        kind="Namespace",
        name=namespace,
    )
