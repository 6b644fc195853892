"""Errors the client raises, rebuilt from the server's Kubernetes ``Status`` bodies.

The server turns each domain error into a ``Status`` body (``orbit.server.errors``); this module
turns it back, so a caller can ``except orbit.errors.NotFound`` whether it talks to the store
in-process or to a server over HTTP. Every :class:`ApiError` keeps the HTTP ``code``, the
``reason``, the human ``message`` and the field ``causes``. Bodies that are not a ``Status``
(a proxy's HTML page, a crash) still become an :class:`ApiError` with what could be read.

    OrbitError
    ├── ApiError              the server answered with an error
    │   ├── NotFoundError        (also errors.NotFound)       404
    │   ├── AlreadyExistsError   (also errors.AlreadyExists)  409
    │   ├── ConflictError        (also errors.Conflict)       409
    │   ├── InvalidError         (also errors.Invalid)        422
    │   ├── BadRequestError      (also errors.BadRequest)     400
    │   ├── UnauthorizedError    (also errors.Unauthorized)   401
    │   ├── ForbiddenError       (also errors.Forbidden)      403
    │   ├── GoneError            (also errors.Gone)           410
    │   └── UnavailableError     (also errors.Unavailable)    503
    └── ConnectionFailed      no answer at all (also errors.Unavailable)
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from orbit import errors

# Reasons the HTTP code implies when the body does not say (Kubernetes' own mapping).
_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    503: "ServiceUnavailable",
}


class ApiError(errors.OrbitError):
    """The server refused a request; ``code``/``reason``/``message``/``causes`` come from its
    ``Status`` body."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        reason: str,
        kind: str | None = None,
        name: str | None = None,
        causes: tuple[errors.Cause, ...] = (),
    ) -> None:
        super().__init__(message, kind=kind, name=name, causes=causes)
        # Instance attributes shadow the class defaults of OrbitError on purpose: the server's
        # answer is the truth, whatever subclass it maps to.
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return self.message


class NotFoundError(ApiError, errors.NotFound):
    pass


class AlreadyExistsError(ApiError, errors.AlreadyExists):
    pass


class ConflictError(ApiError, errors.Conflict):
    pass


class InvalidError(ApiError, errors.Invalid):
    pass


class BadRequestError(ApiError, errors.BadRequest):
    pass


class UnauthorizedError(ApiError, errors.Unauthorized):
    pass


class ForbiddenError(ApiError, errors.Forbidden):
    pass


class GoneError(ApiError, errors.Gone):
    pass


class UnavailableError(ApiError, errors.Unavailable):
    pass


_CLASS_BY_REASON: dict[str, type[ApiError]] = {
    "NotFound": NotFoundError,
    "AlreadyExists": AlreadyExistsError,
    "Conflict": ConflictError,
    "Invalid": InvalidError,
    "BadRequest": BadRequestError,
    "Unauthorized": UnauthorizedError,
    "Forbidden": ForbiddenError,
    "Expired": GoneError,
    "Gone": GoneError,
    "ServiceUnavailable": UnavailableError,
}


class ConnectionFailed(errors.Unavailable):
    """Orbit did not answer at all (refused, unresolvable, timed out)."""

    def __init__(self, server: str, detail: str) -> None:
        super().__init__(
            f"cannot reach Orbit at {server} ({detail}). Is it running? "
            "Start it with `orbit up`, or set --server / ORBIT_SERVER."
        )
        self.server = server
        self.detail = detail


def from_status(status: dict[str, Any], *, code: int | None = None) -> ApiError:
    """Build the error a ``Status`` object describes (an HTTP body or a watch ERROR event)."""
    http_code = _int(status.get("code")) or code or 500
    reason = str(status.get("reason") or _REASON_BY_CODE.get(http_code, "InternalError"))
    details = status.get("details")
    if not isinstance(details, dict):
        details = {}
    causes = tuple(
        errors.Cause(
            field=str(c.get("field") or ""),
            message=str(c.get("message") or ""),
            reason=str(c.get("reason") or "FieldValueInvalid"),
        )
        for c in details.get("causes") or ()
        if isinstance(c, dict)
    )
    message = str(status.get("message") or f"the server answered {http_code} {reason}")
    cls = _CLASS_BY_REASON.get(reason, ApiError)
    return cls(
        message,
        code=http_code,
        reason=reason,
        kind=_str(details.get("kind")),
        name=_str(details.get("name")),
        causes=causes,
    )


def from_response(response: httpx.Response) -> ApiError:
    """The error an unsuccessful response carries, whatever its body looks like."""
    body: Any = None
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return from_status(body, code=response.status_code)
    code = response.status_code
    reason = _REASON_BY_CODE.get(code, "InternalError")
    if isinstance(body, dict) and "detail" in body:
        text = body["detail"] if isinstance(body["detail"], str) else json.dumps(body["detail"])
    else:
        text = response.text.strip()
    text = " ".join(text.split())[:300] or response.reason_phrase
    request = response.request
    message = f"{request.method} {request.url.path} failed with HTTP {code}: {text}"
    return _CLASS_BY_REASON.get(reason, ApiError)(message, code=code, reason=reason)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
