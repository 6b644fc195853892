"""Declarative apply: make the server hold what a manifest says, and say what changed.

Simpler than kubectl's three-way merge on purpose: the manifest owns the object's body (every
top-level field besides ``metadata`` and ``status``, e.g. ``spec``) and its labels and
annotations; everything else (uid, finalizers, status) stays as the server keeps it. The write is
a PUT carrying the live ``resourceVersion``, so a concurrent writer makes it fail with Conflict
instead of being overwritten; apply then re-reads and tries once more.

Both sides are normalised through the pydantic model before comparing, so a manifest that omits
defaults the server fills in reports ``unchanged`` rather than rewriting the object every time.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from orbit import errors
from orbit.api import v1alpha1
from orbit.client.errors import AlreadyExistsError, ConflictError, NotFoundError

if TYPE_CHECKING:
    from orbit.client.client import OrbitClient

Action = Literal["created", "configured", "unchanged"]

_SERVER_OWNED = ("apiVersion", "kind", "metadata", "status")


def kind_of(doc: dict[str, Any]) -> type[v1alpha1.Resource]:
    """The class a manifest names in ``kind``; BadRequest naming the known kinds if none."""
    kind = doc.get("kind")
    known = ", ".join(cls.KIND for cls in v1alpha1.KINDS)
    if not isinstance(kind, str) or not kind:
        raise errors.BadRequest(f"manifest has no kind (known kinds: {known})")
    try:
        return v1alpha1.kind_for(kind)
    except KeyError:
        raise errors.BadRequest(f'unknown kind "{kind}" (known kinds: {known})') from None


def apply(
    client: OrbitClient, doc: dict[str, Any], *, namespace: str
) -> tuple[Action, v1alpha1.Resource]:
    cls = kind_of(doc)
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise errors.BadRequest(f"{cls.KIND} manifest has no metadata.name")
    name: str = meta["name"]
    ns = (meta.get("namespace") or namespace) if cls.NAMESPACED else None
    body = copy.deepcopy(doc)
    if ns is not None:
        body["metadata"]["namespace"] = ns

    for attempt in range(2):
        try:
            live = client.get(cls, name, namespace=ns or "")
        except NotFoundError:
            try:
                return "created", client.create_raw(cls, body, namespace=ns or "")
            except AlreadyExistsError:
                if attempt:
                    raise
                continue  # created by someone else meanwhile: update it instead
        desired = _desired(live.to_dict(), body)
        before = _normalise(cls, live.to_dict())
        wanted = _normalise(cls, desired)
        if wanted is not None and wanted == before:
            return "unchanged", live
        try:
            stored = client.replace_raw(cls, desired)
        except ConflictError:
            if attempt:
                raise
            continue
        same = before is not None and _normalise(cls, stored.to_dict()) == before
        return ("unchanged" if same else "configured"), stored
    raise AssertionError("unreachable")  # pragma: no cover


def _desired(live: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The live object with the manifest's body, labels and annotations laid over it."""
    out = copy.deepcopy(live)
    meta = doc.get("metadata") or {}
    out["metadata"]["labels"] = dict(meta.get("labels") or {})
    out["metadata"]["annotations"] = dict(meta.get("annotations") or {})
    for key, value in doc.items():
        if key not in _SERVER_OWNED:
            out[key] = copy.deepcopy(value)
    return out


def _normalise(cls: type[v1alpha1.Resource], body: dict[str, Any]) -> dict[str, Any] | None:
    """What apply owns, with defaults filled in; None when the body does not validate (then
    it is sent as it is, and the server names what is wrong)."""
    try:
        full = cls.model_validate(body).to_dict()
    except ValidationError:
        return None
    owned = {k: v for k, v in full.items() if k not in _SERVER_OWNED}
    owned["labels"] = full["metadata"].get("labels", {})
    owned["annotations"] = full["metadata"].get("annotations", {})
    return owned
