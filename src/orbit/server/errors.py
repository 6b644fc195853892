"""The one place where errors become HTTP: every failure leaves as a Kubernetes ``Status`` body.

Domain errors (``orbit.errors``) carry their HTTP code and reason; request validation and pydantic
errors become 422 ``Invalid`` with the dotted field path of each cause, as it appears in the JSON
(``spec.upgradeTo[1]``); routing misses become 404/405 with a hint (an unknown kind lists the
known ones); anything else is a 500 whose message never shows internals (the traceback goes to
the log). ``status_body`` is reused for watch ``ERROR`` events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orbit import errors
from orbit.api import v1alpha1
from orbit.api.causes import causes_from_pydantic, invalid_from_validation
from orbit.server import paths

log = logging.getLogger(__name__)

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class StatusCause(BaseModel):
    reason: str
    message: str
    field: str


class StatusDetails(BaseModel):
    name: str | None = None
    kind: str | None = None
    causes: list[StatusCause] = Field(default_factory=list)


class Status(BaseModel):
    """The error body of every failed request (documentation model; bodies are built as dicts)."""

    api_version: str = Field(default="v1", alias="apiVersion")
    kind: str = "Status"
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: str = "Failure"
    message: str
    reason: str
    details: StatusDetails = Field(default_factory=StatusDetails)
    code: int


def status_body(
    code: int,
    reason: str,
    message: str,
    *,
    kind: str | None = None,
    name: str | None = None,
    causes: Iterable[errors.Cause] = (),
) -> dict[str, Any]:
    """A ``Status`` dict; ``kind`` may be any name of a kind and is reported as its plural."""
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if kind:
        cls = v1alpha1.resolve_kind(kind)
        details["kind"] = cls.PLURAL if cls else kind
    cause_list = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
    if cause_list:
        details["causes"] = cause_list
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


def error_status(err: errors.OrbitError) -> dict[str, Any]:
    return status_body(
        err.code, err.reason, err.message, kind=err.kind, name=err.name, causes=err.causes
    )


def _response(body: dict[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["code"], headers=headers)


async def _orbit_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.OrbitError)
    if isinstance(exc, errors.Unauthorized):
        return _response(error_status(exc), headers={"WWW-Authenticate": 'Bearer realm="orbit"'})
    return _response(error_status(exc))


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    causes = causes_from_pydantic(exc.errors())
    listed = "; ".join(f"{c.field}: {c.message}" for c in causes)
    message = f"the request is invalid: {listed}"
    return _response(status_body(422, "Invalid", message, causes=causes))


async def _pydantic_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return _response(error_status(invalid_from_validation(exc, kind=exc.title, name=None)))


def _not_found_message(request: Request) -> str:
    base = "the server could not find the requested resource"
    plural = paths.requested_plural(request.url.path)
    if plural is None:
        return f"{base}: {request.url.path}"
    known = sorted(cls.PLURAL for cls in v1alpha1.KINDS)
    if plural in known:
        return f"{base}: {request.method} {request.url.path}"
    message = f'{base}: unknown kind "{plural}"; known kinds: {", ".join(known)}'
    alias = v1alpha1.resolve_kind(plural)
    return f'{message} (did you mean "{alias.PLURAL}"?)' if alias else message


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = exc.status_code
    reason = _REASONS.get(code, "BadRequest" if code < 500 else "InternalError")
    try:
        default = HTTPStatus(code).phrase
    except ValueError:
        default = ""
    message = exc.detail if exc.detail and exc.detail != default else ""
    if code == 404 and not message:
        message = _not_found_message(request)
    elif code == 405 and not message:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"the server does not allow {request.method} on {request.url.path}" + (
            f"; allowed: {allowed}" if allowed else ""
        )
    return _response(status_body(code, reason, message or default), headers=exc.headers)


class CatchAllMiddleware:
    """Turns an unexpected exception into a 500 Status that leaks nothing, and logs it.

    Pure ASGI so streaming responses pass through untouched; once a response has started the
    exception is re-raised for the server to close the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            method, path = scope.get("method", ""), scope.get("path", "")
            log.exception("Unhandled error serving %s %s", method, path)
            if started:
                raise
            body = status_body(
                500,
                "InternalError",
                f"an internal error occurred while serving {method} {path}; "
                "the server log has the details",
            )
            await _response(body)(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register every handler on ``app`` (called by ``create_app``)."""
    app.add_exception_handler(errors.OrbitError, _orbit_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(CatchAllMiddleware)
