"""URL paths of the Kubernetes API and the replies sent back, independent of the web framework.

``parse`` turns the path below ``.../k8s/`` into what it names: a discovery document, an
OpenAPI document, or a resource (group, version, plural, namespace, name, subresource).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from orbit.simplane.kube import errors

JSON = "application/json"


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


@dataclass(frozen=True)
class Document:
    """A discovery or OpenAPI document: ``what`` names it, ``group``/``version`` narrow it."""

    what: str
    group: str = ""
    version: str = ""


@dataclass
class Reply:
    """A response: ``body`` is a JSON value, raw bytes, or an async iterator of bytes (a watch)."""

    status: int
    body: Any
    media_type: str = JSON

    @property
    def streaming(self) -> bool:
        return isinstance(self.body, AsyncIterator)

    def content(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode()


def status_reply(error: errors.KubeError) -> Reply:
    return Reply(error.code, error.status())


def parse(path: str) -> Resource | Document:
    parts = [p for p in path.strip("/").split("/") if p]
    match parts:
        case ["version"]:
            return Document("version")
        case ["healthz" | "livez" | "readyz"]:
            return Document("health")
        case ["api"]:
            return Document("versions")
        case ["apis"]:
            return Document("groups")
        case ["api", version]:
            return Document("resources", "", version)
        case ["apis", group]:
            return Document("group", group)
        case ["apis", group, version]:
            return Document("resources", group, version)
        case ["openapi", "v3"]:
            return Document("openapi")
        case ["openapi", "v3", "api", version]:
            return Document("openapi", "", version)
        case ["openapi", "v3", "apis", group, version]:
            return Document("openapi", group, version)
        case ["api", version, *rest]:
            return _resource("", version, rest)
        case ["apis", group, version, *rest]:
            return _resource(group, version, rest)
    raise errors.page_not_found()


def _resource(group: str, version: str, rest: list[str]) -> Resource:
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    match rest:
        case [plural]:
            return Resource(group, version, plural, namespace)
        case [plural, name]:
            return Resource(group, version, plural, namespace, name)
        case [plural, name, sub]:
            return Resource(group, version, plural, namespace, name, sub)
    raise errors.page_not_found()


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in (accept or "")
