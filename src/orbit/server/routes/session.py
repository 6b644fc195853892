"""``/auth/v1/session``: the dashboard's sign-in with an API token, kept in a cookie.

``POST`` checks the token and sets it as the ``orbit_token`` cookie: HttpOnly (scripts never
see it), SameSite=Strict, Secure over HTTPS, living as long as the token. ``DELETE`` clears
it. Both are login endpoints, so they need no identity. Requests the cookie authenticates
must prove they come from Orbit's own pages for any write (the ``X-Orbit-CSRF`` header, see
:mod:`orbit.server.auth`).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from orbit.api import causes
from orbit.server import auth, bodies
from orbit.server.routes.tokens import SessionRequest

PATH = "/auth/v1/session"
router = APIRouter(tags=["auth"])


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.post(PATH, operation_id="createSession", summary="Sign in: keep a token in a cookie",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": SessionRequest.model_json_schema(by_alias=True)}}}})  # fmt: skip
async def create_session(request: Request) -> Response:
    try:
        body = SessionRequest.model_validate(await bodies.read(request))
    except ValidationError as exc:
        raise causes.invalid_from_validation(exc, kind="Session", name=None) from None
    tokens = auth.tokens_of(request)
    identity = await tokens.authenticate(body.token)
    info = await tokens.get(identity.token_id or "")
    response = JSONResponse({"user": identity.user, "groups": list(identity.groups)})
    lifetime = None if info.expires_at is None else max(0, int(info.expires_at - time.time()))
    response.set_cookie(
        auth.COOKIE,
        body.token,
        max_age=lifetime,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.delete(PATH, operation_id="deleteSession", summary="Sign out: drop the cookie")
async def delete_session(request: Request) -> Response:
    response = JSONResponse({"signedOut": True})
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, secure=_secure(request))
    return response
