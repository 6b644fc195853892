"""URL layout of the Orbit REST API (API.md), in one place for the routes and the 404 handler.

Kubernetes' shape: ``{PREFIX}/namespaces/{ns}/{plural}[/{name}[/status]]`` for namespaced kinds,
``{PREFIX}/{plural}[/{name}]`` for cluster-scoped ones and for cross-namespace lists.
"""

from __future__ import annotations

from orbit.api import v1alpha1

PREFIX = f"/apis/{v1alpha1.API_VERSION}"


def collection(cls: type[v1alpha1.Resource]) -> str:
    """Where a kind is listed and created (per namespace for namespaced kinds)."""
    if cls.NAMESPACED:
        return f"{PREFIX}/namespaces/{{namespace}}/{cls.PLURAL}"
    return f"{PREFIX}/{cls.PLURAL}"


def item(cls: type[v1alpha1.Resource]) -> str:
    return f"{collection(cls)}/{{name}}"


def all_namespaces(cls: type[v1alpha1.Resource]) -> str:
    """The cross-namespace list of a namespaced kind."""
    return f"{PREFIX}/{cls.PLURAL}"


def requested_plural(path: str) -> str | None:
    """The resource plural a request path under PREFIX names, or None (outside the API, or the
    discovery document itself)."""
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    segments = [s for s in path[len(PREFIX) :].split("/") if s]
    if not segments:
        return None
    if segments[0] == "namespaces" and len(segments) >= 3:
        return segments[2]
    return segments[0]
