"""Kubernetes ``Status`` errors, worded as the real API server words them.

Clients parse these: kubectl prints ``Error from server (NotFound): deployments.apps "x" not
found`` from ``reason`` and ``message``, lightkube raises ``ApiError`` with ``status.code``. So
messages copy the API server's sentences, and causes carry the field path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class KubeError(Exception):
    """One failed request: ``code`` is the HTTP status, ``reason`` the Kubernetes reason."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(resource: str, name: str, group: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": resource, **extra}
    if group:
        details["group"] = group
    return details


def not_found(group_resource: str, name: str, *, group: str = "") -> KubeError:
    plural = group_resource.split(".", 1)[0]
    return KubeError(
        404, "NotFound", f'{group_resource} "{name}" not found', _details(plural, name, group)
    )


def namespace_not_found(namespace: str) -> KubeError:
    return not_found("namespaces", namespace)


def already_exists(group_resource: str, name: str, *, group: str = "") -> KubeError:
    plural = group_resource.split(".", 1)[0]
    return KubeError(
        409,
        "AlreadyExists",
        f'{group_resource} "{name}" already exists',
        _details(plural, name, group),
    )


def stale(group_resource: str, name: str, *, group: str = "") -> KubeError:
    plural = group_resource.split(".", 1)[0]
    return KubeError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {group_resource} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        _details(plural, name, group),
    )


def apply_conflicts(conflicts: list[tuple[str, str, str]]) -> KubeError:
    """Server-side apply conflicts: (field path, manager, apiVersion) each."""
    lines = [f'conflict with "{manager}" using {api}: {path}' for path, manager, api in conflicts]
    count = len(conflicts)
    noun = "conflict" if count == 1 else "conflicts"
    if count == 1:
        message = f"Apply failed with 1 conflict: {lines[0]}"
    else:
        message = f"Apply failed with {count} {noun}: " + "\n".join(lines)
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f'conflict with "{manager}" using {api}',
            "field": path,
        }
        for path, manager, api in conflicts
    ]
    return KubeError(409, "Conflict", message, {"causes": causes})


def invalid(kind: str, name: str, causes: list[Cause], *, group: str = "") -> KubeError:
    text = "; ".join(f"{c.field}: {c.message}" for c in causes)
    shown = f"[{text}]" if len(causes) > 1 else text
    return KubeError(
        422,
        "Invalid",
        f'{kind}{"." + group if group else ""} "{name}" is invalid: {shown}',
        _details(kind, name, group, causes=[c.to_dict() for c in causes]),
    )


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def method_not_allowed(message: str) -> KubeError:
    return KubeError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> KubeError:
    return KubeError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format: {content_type}",
    )


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized")


def forbidden(message: str) -> KubeError:
    return KubeError(403, "Forbidden", message)


def page_not_found() -> KubeError:
    return KubeError(404, "NotFound", "the server could not find the requested resource")


def unavailable(message: str) -> KubeError:
    return KubeError(503, "ServiceUnavailable", message)
