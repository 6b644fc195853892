"""Request bodies: decode JSON or YAML, reconcile them with the URL, validate them as a kind.

Bodies are parsed here rather than by FastAPI because they may be YAML (``orbit apply -f``) and
because every failure must name what to fix: the line and column of a syntax error, the field
path of a rejected value.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import yaml
from fastapi import Request
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from orbit import errors
from orbit.api import v1alpha1
from orbit.api.causes import invalid_from_validation

R = TypeVar("R", bound=v1alpha1.Resource)

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MERGE_PATCH_TYPES = frozenset({"application/merge-patch+json", "application/json", ""})

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def decode(raw: bytes, media: str) -> dict[str, Any]:
    """The body as a mapping; BadRequest naming line and column when it does not parse."""
    if not raw.strip():
        raise errors.BadRequest("the request body is empty: send the object as JSON or YAML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.BadRequest(f"the request body is not UTF-8 text: {exc}") from None
    if media in YAML_TYPES:
        data = _load_yaml(text)
        syntax = "YAML"
    elif media in ("", "application/json") or media.endswith("+json"):
        data = _load_json(text)
        syntax = "JSON"
    else:
        raise HTTPException(
            415, f'unsupported Content-Type "{media}": send application/json or application/yaml'
        )
    if not isinstance(data, dict):
        raise errors.BadRequest(
            f"the request body must be a {syntax} object (a mapping), not {type(data).__name__}"
        )
    return data


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.BadRequest(
            f"the request body is not valid JSON: {exc.msg} "
            f"at line {exc.lineno}, column {exc.colno}"
        ) from None


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise errors.BadRequest(f"the request body is not valid YAML: {problem}{where}") from None
    except yaml.YAMLError as exc:
        raise errors.BadRequest(f"the request body is not valid YAML: {exc}") from None


async def read(request: Request) -> dict[str, Any]:
    return decode(await request.body(), media_type(request))


async def read_patch(request: Request) -> dict[str, Any]:
    """A merge patch body (RFC 7386); JSON Patch and strategic merge are not spoken here."""
    media = media_type(request)
    if media not in MERGE_PATCH_TYPES and media not in YAML_TYPES:
        raise HTTPException(
            415,
            f'unsupported patch Content-Type "{media}": send a JSON merge patch '
            "(application/merge-patch+json)",
        )
    return decode(await request.body(), media)


def align(
    cls: type[v1alpha1.Resource],
    data: dict[str, Any],
    *,
    namespace: str | None,
    name: str | None = None,
) -> dict[str, Any]:
    """Fill metadata.namespace (and metadata.name on item URLs) from the URL, and refuse a body
    that names a different object than the URL does. Returns a new dict."""
    data = dict(data)
    meta = data.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return data  # validation names the field
    meta = dict(meta)
    if cls.NAMESPACED and namespace is not None:
        given = meta.get("namespace")
        if given is None:
            meta["namespace"] = namespace
        elif given != namespace:
            raise errors.BadRequest(
                f'the namespace of the object ("{given}") does not match the namespace '
                f'in the URL ("{namespace}")',
                kind=cls.KIND,
                name=meta.get("name"),
            )
    if name is not None:
        given = meta.get("name")
        if given is None:
            meta["name"] = name
        elif given != name:
            raise errors.BadRequest(
                f'the name of the object ("{given}") does not match the name in the URL ("{name}")',
                kind=cls.KIND,
                name=name,
            )
    data["metadata"] = meta
    return data


def validate(cls: type[R], data: dict[str, Any]) -> R:
    """The body as an object of ``cls``; Invalid with a field path per problem."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        meta = data.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        raise invalid_from_validation(
            exc, kind=cls.KIND, name=name if isinstance(name, str) else None
        ) from None
