"""The typed HTTP client of the Orbit API, shared by the CLI, the dashboard tests and users'
scripts. It imports only ``orbit.api`` and ``orbit.errors``: it must work against any Orbit
server without pulling in the server, the store or the controllers.

    with OrbitClient() as orbit:                       # $ORBIT_SERVER or http://127.0.0.1:8420
        cluster = orbit.get(v1alpha1.ClusterDeployment, "dev", namespace="team-a")
        for event in orbit.watch(v1alpha1.ClusterDeployment, namespace="team-a"):
            ...
"""

from __future__ import annotations

from orbit.client.apply import Action, kind_of
from orbit.client.client import (
    DEFAULT_NAMESPACE,
    DEFAULT_SERVER,
    OrbitClient,
    Page,
    WatchEvent,
    collection_path,
    object_path,
    parse_watch_line,
    resolve_server,
)
from orbit.client.errors import (
    AlreadyExistsError,
    ApiError,
    BadRequestError,
    ConflictError,
    ConnectionFailed,
    ForbiddenError,
    GoneError,
    InvalidError,
    NotFoundError,
    UnauthorizedError,
    UnavailableError,
    from_response,
    from_status,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_SERVER",
    "Action",
    "AlreadyExistsError",
    "ApiError",
    "BadRequestError",
    "ConflictError",
    "ConnectionFailed",
    "ForbiddenError",
    "GoneError",
    "InvalidError",
    "NotFoundError",
    "OrbitClient",
    "Page",
    "UnauthorizedError",
    "UnavailableError",
    "WatchEvent",
    "collection_path",
    "from_response",
    "from_status",
    "kind_of",
    "object_path",
    "parse_watch_line",
    "resolve_server",
]
