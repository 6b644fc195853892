"""Typed domain errors, shared by every layer.

The store, admission, controllers and providers raise these; only ``orbit.server.errors``
turns them into HTTP responses (a Kubernetes-style ``Status`` body), and the client turns those
bodies back into :class:`ApiError`. Each error carries a message a person can act on and, for
invalid input, the field path of every cause.

    OrbitError
    ├── NotFound          404  the object (or its namespace) does not exist
    ├── AlreadyExists     409  create of a name that is taken
    ├── Conflict          409  stale resourceVersion, or an operation the object's state forbids
    ├── Invalid           422  the object breaks a rule; ``causes`` name each field
    ├── BadRequest        400  the request itself cannot be read (malformed JSON/YAML, bad query)
    ├── Unauthorized      401  no identity, or a token that is unknown, expired or revoked
    ├── Forbidden         403  the identity lacks a permission; the message names it
    ├── Gone              410  a watch asked for a revision the change feed no longer holds
    └── Unavailable       503  a backend (database, provider) cannot answer right now
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """One reason an object was rejected: which field, and why."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"


class OrbitError(Exception):
    """Base of every domain error; ``reason`` is the Kubernetes ``Status.reason``."""

    reason = "InternalError"
    code = 500

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        name: str | None = None,
        causes: tuple[Cause, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.name = name
        self.causes = causes


class NotFound(OrbitError):
    reason = "NotFound"
    code = 404


class AlreadyExists(OrbitError):
    reason = "AlreadyExists"
    code = 409


class Conflict(OrbitError):
    reason = "Conflict"
    code = 409


class Invalid(OrbitError):
    reason = "Invalid"
    code = 422


class BadRequest(OrbitError):
    reason = "BadRequest"
    code = 400


class Unauthorized(OrbitError):
    reason = "Unauthorized"
    code = 401


class Forbidden(OrbitError):
    reason = "Forbidden"
    code = 403


class Gone(OrbitError):
    reason = "Expired"
    code = 410


class Unavailable(OrbitError):
    reason = "ServiceUnavailable"
    code = 503


def invalid(kind: str, name: str | None, *causes: Cause) -> Invalid:
    """Build an :class:`Invalid` whose message lists every cause, as Kubernetes does."""
    details = "; ".join(f"{c.field}: {c.message}" for c in causes)
    label = f'{kind} "{name}"' if name else kind
    return Invalid(f"{label} is invalid: {details}", kind=kind, name=name, causes=causes)
