"""``/auth/v1/oidc``: sign in with the company's identity provider (OIDC code flow + PKCE).

These are login endpoints, so none of them needs an identity; the work is done by
:class:`orbit.security.oidc.OidcClient` on ``app.state.oidc`` (None when
``settings.security.oidc.issuer`` is unset: every route but the first then answers 404).

- ``GET /auth/v1/oidc``: ``{"enabled", "issuer"}``, so clients know whether to offer it.
- ``GET /auth/v1/oidc/login?next=...``: start a login and redirect to the IdP. ``next`` is a
  loopback ``http://127.0.0.1:PORT/...`` URL (the CLI) or a path on this server (the dashboard,
  the default ``/``); anything else is refused (no open redirect). Sets the browser binding
  cookie ``orbit_oidc_login`` that the callback must bring back.
- ``GET /auth/v1/oidc/callback``: where the IdP returns (register
  ``{public URL}/auth/v1/oidc/callback`` there). Verifies everything, creates or updates the
  User, then redirects to ``next``: a loopback URL gets ``?code=`` a one-time exchange code
  (never a token in a URL); a dashboard path gets the API token in the ``orbit_token`` cookie
  (HttpOnly, SameSite=Lax, Secure over https), which the dashboard's requests then carry.
  Once the login is known, a failure also goes back to ``next``, as ``?error=...&
  error_description=...``, so the CLI can report it instead of waiting.
- ``POST /auth/v1/oidc/exchange {"code"}``: the code (single use, 60 s) for ``{"token", ...}``.

The API token of an OIDC login is an ordinary Orbit token: every scope (roles limit it), the
IdP groups recorded on it, and the server's token lifetime (``security.token_ttl_hours``), not
the ID token's: ID tokens live minutes to hours and Orbit does not hold refresh tokens, so tying
the two would sign people out mid-task. The groups are therefore as of the login; revoke the
token (``orbit token revoke``) or disable the User to cut access before it expires.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from orbit import errors
from orbit.security import logins
from orbit.security.identity import Identity
from orbit.security.oidc import OidcClient
from orbit.security.oidc_users import OidcLogin, sync_user
from orbit.security.tokens import TokenInfo
from orbit.server import auth
from orbit.server.deps import StoreDep

log = logging.getLogger(__name__)

PREFIX = "/auth/v1/oidc"
BINDING_COOKIE = "orbit_oidc_login"
NO_STORE = {"Cache-Control": "no-store"}
router = APIRouter(tags=["auth"])


def client_of(request: Request) -> OidcClient:
    oidc: OidcClient | None = getattr(request.app.state, "oidc", None)
    if oidc is None:
        raise errors.NotFound(
            "OIDC login is not configured on this server: set security.oidc.issuer "
            "(ORBIT_SECURITY__OIDC__ISSUER) and security.oidc.client_id"
        )
    return oidc


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


class ExchangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=256, description="The code from the callback.")


@router.get(PREFIX, operation_id="getOidcInfo", summary="Whether OIDC login is offered")
async def oidc_info(request: Request) -> JSONResponse:
    oidc: OidcClient | None = getattr(request.app.state, "oidc", None)
    return JSONResponse(
        {
            "enabled": oidc is not None,
            "issuer": oidc.issuer if oidc is not None else None,
            "loginPath": f"{PREFIX}/login" if oidc is not None else None,
        }
    )


@router.get(f"{PREFIX}/login", operation_id="startOidcLogin",
            summary="Start an OIDC login (redirects to the identity provider)")  # fmt: skip
async def oidc_login(
    request: Request,
    next_: str | None = Query(
        default=None,
        alias="next",
        max_length=2048,
        description="Where to return: http://127.0.0.1:PORT/... (CLI) or a path here.",
    ),
) -> RedirectResponse:
    oidc = client_of(request)
    target = logins.check_next(next_)
    binding = request.cookies.get(BINDING_COOKIE) or ""
    if not 32 <= len(binding) <= 128:
        binding = logins.new_secret()
    redirect_uri = oidc.redirect_uri or str(request.url_for("oidc_callback"))
    url = await oidc.begin(target, redirect_uri=redirect_uri, binding=binding)
    response = RedirectResponse(url, status_code=302, headers=NO_STORE)
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=int(oidc.pending.ttl),
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


@router.get(f"{PREFIX}/callback", operation_id="finishOidcLogin",
            summary="The identity provider's redirect back to Orbit")  # fmt: skip
async def oidc_callback(
    request: Request,
    store: StoreDep,
    state: str | None = Query(default=None, max_length=256),
    code: str | None = Query(default=None, max_length=4096),
    error: str | None = Query(default=None, max_length=256),
    error_description: str | None = Query(default=None, max_length=1024),
) -> RedirectResponse:
    oidc = client_of(request)
    pending = oidc.take(state, request.cookies.get(BINDING_COOKIE))
    try:
        if error:
            detail = f": {error_description}" if error_description else ""
            raise errors.Unauthorized(f"the identity provider refused the login ({error}){detail}")
        if not code:
            raise errors.BadRequest("the identity provider's redirect has no code")
        login = await oidc.finish(pending, code)
        await sync_user(store, login)
    except errors.OrbitError as exc:
        log.warning("OIDC login failed: %s", exc.message)
        back = logins.with_params(
            pending.next.url, error=exc.reason, error_description=exc.message[:500]
        )
        return RedirectResponse(back, status_code=303, headers=NO_STORE)
    log.info("OIDC login of %s (groups %s)", login.user, ", ".join(login.groups) or "-")
    if pending.next.kind == "loopback":
        back = logins.with_params(pending.next.url, code=oidc.hold(login))
        return RedirectResponse(back, status_code=303, headers=NO_STORE)
    info, token = await _issue(request, login)
    response = RedirectResponse(pending.next.url, status_code=303, headers=NO_STORE)
    response.set_cookie(
        auth.COOKIE,
        token,
        max_age=None if info.expires_at is None else int(info.expires_at - info.created_at),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


@router.post(f"{PREFIX}/exchange", operation_id="exchangeOidcCode",
             summary="Redeem a one-time login code for an API token")  # fmt: skip
async def oidc_exchange(request: Request, body: ExchangeRequest) -> JSONResponse:
    login = client_of(request).redeem(body.code)
    info, token = await _issue(request, login)
    # The audit record of this request names the user who logged in, not "anonymous".
    request.state.identity = Identity(user=login.user, groups=login.groups, token_id=info.id)
    return JSONResponse({**info.to_dict(), "token": token}, headers=NO_STORE)


async def _issue(request: Request, login: OidcLogin) -> tuple[TokenInfo, str]:
    hours: float = getattr(request.app.state, "token_ttl_hours", 24.0 * 90)
    return await auth.tokens_of(request).issue(
        login.user,
        groups=login.groups,
        ttl=timedelta(hours=hours),
        description=f"OIDC login ({login.issuer})",
    )
