"""Which Orbit verb a request to a cluster's Kubernetes API needs (the AccessPoint's RBAC).

The permission checked is ``clusterdeployments/proxy:<verb>`` in the cluster's Orbit namespace;
the verb comes from the HTTP method and, for reads, from the Kubernetes path, as the API server
itself derives it: a GET of a named object is ``get``, of a collection ``list`` (``watch`` with
``?watch=true`` or under the legacy ``/api/v1/watch/`` prefix), of anything outside a resource
(discovery, ``/version``, ``/openapi``) ``get``. POST is ``create``, PUT ``update``, PATCH
``patch``, DELETE ``delete``.

Some subresources act on workloads whatever the method: ``exec``, ``attach``, ``portforward``
and ``proxy`` (of pods, services, nodes) run commands in containers or reach into them, so they
need ``create`` even when asked with GET (as Kubernetes does for exec over WebSockets): a
viewer only ever reads.
"""

from __future__ import annotations

from collections.abc import Mapping

WRITES = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
READ_METHODS = frozenset({"GET", "HEAD"})
ACTING_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
_TRUE = frozenset({"true", "1"})
_NS_SUBRESOURCES = frozenset({"status", "finalize"})


def _resource_segments(path: str) -> list[str] | None:
    """The segments after ``/api/{version}`` or ``/apis/{group}/{version}``; None when the path
    names no resource (discovery documents, ``/version``, health checks, ...)."""
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 3 and segments[0] == "api":
        return segments[2:]
    if len(segments) >= 4 and segments[0] == "apis":
        return segments[3:]
    return None


def verb(method: str, path: str, query: Mapping[str, str]) -> str:
    """The verb ``method`` on Kubernetes ``path`` (``api/v1/...``) with ``query`` needs."""
    method = method.upper()
    rest = _resource_segments(path)
    watch_prefix = bool(rest) and rest is not None and rest[0] == "watch"
    if rest is not None and watch_prefix:
        rest = rest[1:]
    if rest and rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NS_SUBRESOURCES:
        rest = rest[2:]  # namespaces/{ns}/{resource}/...: the namespace itself is not the target
    named = rest is not None and len(rest) >= 2
    if rest is not None and len(rest) >= 3 and rest[2] in ACTING_SUBRESOURCES:
        return "create"
    if method in WRITES:
        return WRITES[method]
    if rest is None or named:
        return "get"
    if watch_prefix or query.get("watch", "").lower() in _TRUE:
        return "watch"
    return "list"


def is_stream(path: str, query: Mapping[str, str]) -> bool:
    """Whether the response is a long-lived stream (a watch, or a followed log)."""
    rest = _resource_segments(path) or []
    if rest[:1] == ["watch"]:
        return True
    return any(query.get(flag, "").lower() in _TRUE for flag in ("watch", "follow"))
