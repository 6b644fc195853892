"""Request bodies and the patch formats a Kubernetes API accepts.

- ``application/merge-patch+json``: RFC 7386 (``orbit.api.patch.merge_patch``).
- ``application/strategic-merge-patch+json``: a merge patch that, like Kubernetes' strategic
  merge for containers, env, ports and volumes, merges lists of named maps by ``name`` and
  honours ``$patch: delete`` items; other ``$`` directives are dropped.
- ``application/json-patch+json``: RFC 6902, through the ``jsonpatch`` library.
- ``application/apply-patch+yaml``: the body of a server-side apply (JSON is YAML too).
"""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import yaml

from orbit.api.patch import merge_patch
from orbit.simplane.kube import errors, protobuf

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE, STRATEGIC, JSON_PATCH, APPLY)
_READABLE = frozenset({"", "application/json", "application/yaml", *PATCH_TYPES})


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def load_body(raw: bytes, content_type: str | None) -> Any:
    """The decoded body: JSON, or YAML for apply patches and YAML bodies."""
    if not raw.strip():
        raise errors.bad_request("the request body is empty")
    kind = media_type(content_type)
    if kind not in _READABLE:
        # Protobuf, CBOR: a 415 makes client-go send the request again as JSON.
        raise errors.unsupported_media_type(kind)
    try:
        return json.loads(raw)
    except ValueError as exc:
        if kind not in (APPLY, "application/yaml"):
            raise errors.bad_request(f"the request body could not be decoded: {exc}") from None
    try:
        # YAML only for what may be YAML, and after JSON: the JSON parser is far faster.
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"the request body could not be decoded: {exc}") from None


def load_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    if media_type(content_type) == protobuf.MEDIA_TYPE:
        return protobuf.decode(raw)
    body = load_body(raw, content_type)
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be an object")
    return body


def patch(target: dict[str, Any], body: bytes, content_type: str) -> dict[str, Any]:
    """``target`` patched by ``body`` (not the apply type, which :mod:`fields` handles)."""
    kind = media_type(content_type)
    document = load_body(body, content_type)
    if kind == MERGE:
        result = merge_patch(target, document)
    elif kind == STRATEGIC:
        result = strategic_merge(target, document)
    elif kind == JSON_PATCH:
        if not isinstance(document, list):
            raise errors.bad_request("a JSON patch must be a list of operations")
        try:
            result = jsonpatch.apply_patch(target, document)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            message = f"the JSON patch cannot be applied: {exc}"
            raise errors.KubeError(422, "Invalid", message) from None
    else:
        raise errors.unsupported_media_type(content_type)
    if not isinstance(result, dict):
        raise errors.bad_request("the patch must produce an object")
    return result


def strategic_merge(target: Any, patch_doc: Any) -> Any:
    if not isinstance(patch_doc, dict):
        return patch_doc
    if patch_doc.get("$patch") == "replace":
        return {k: v for k, v in patch_doc.items() if not k.startswith("$")}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch_doc.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and _named(value) and _named(result.get(key)):
            result[key] = _merge_named(result[key], value)
        elif isinstance(value, list):
            result[key] = [v for v in value if not (isinstance(v, dict) and "$patch" in v)]
        else:
            result[key] = strategic_merge(result.get(key), value)
    return result


def _named(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value)


def _merge_named(current: list[dict[str, Any]], changes: list[dict[str, Any]]) -> list[Any]:
    merged = {item["name"]: item for item in current}
    order = [item["name"] for item in current]
    for change in changes:
        name = change["name"]
        if change.get("$patch") == "delete":
            merged.pop(name, None)
            continue
        if name not in merged:
            order.append(name)
        merged[name] = strategic_merge(merged.get(name), change)
    return [merged[name] for name in order if name in merged]
