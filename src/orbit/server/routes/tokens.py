"""``/auth/v1``: who am I, and my API tokens (create, list, revoke).

Anyone authenticated manages their own tokens; managing another user's tokens needs
``tokens:<verb>`` (global-admin). A new token's scopes may not exceed the caller's, so a
read-only token cannot mint a writing one. The token's secret is in the create response only.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orbit import errors
from orbit.api import causes, v1alpha1
from orbit.security.identity import SCOPES, Identity
from orbit.security.rbac import Permission
from orbit.server import accesspoint, auth, bodies
from orbit.server.deps import StoreDep

PREFIX = "/auth/v1"
router = APIRouter(tags=["auth"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    user: str | None = Field(default=None, description="Whose token (default: the caller's).")
    scopes: list[str] = Field(default_factory=lambda: list(SCOPES))
    ttl_hours: float | None = Field(
        default=None, alias="ttlHours", gt=0, description="Lifetime (default: the server's)."
    )
    description: str = Field(default="", max_length=256)


async def _token_request(request: Request) -> TokenRequest:
    """The body, read only once the caller is known (FastAPI would parse a declared body
    before any dependency, answering an anonymous caller 422 instead of 401)."""
    data = await bodies.read(request)
    try:
        return TokenRequest.model_validate(data)
    except ValidationError as exc:
        raise causes.invalid_from_validation(exc, kind="Token", name=None) from None


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=512, description="An Orbit API token.")


class RulesAnswer(BaseModel):
    namespace: str | None
    rules: dict[str, list[str]]


def _write_identity(identity: Identity) -> Identity:
    if "write" not in identity.scopes:
        raise errors.Forbidden(
            f'{identity.describe()} may not manage tokens: the token lacks the "write" scope'
        )
    return identity


async def _may_manage(request: Request, identity: Identity, user: str, verb: str) -> None:
    if user != identity.user:
        await auth.authorizer_of(request).check(identity, Permission(verb, "tokens"))


@router.get(f"{PREFIX}/whoami", operation_id="whoAmI", summary="The caller's identity and roles")
async def whoami(request: Request, identity: auth.IdentityDep) -> JSONResponse:
    grants = await auth.authorizer_of(request).grants(identity)
    return JSONResponse(
        {
            "user": identity.user,
            "groups": list(identity.groups),
            "scopes": sorted(identity.scopes),
            "tokenId": identity.token_id,
            "roles": grants.to_dict(),
            # Where shared templates and credentials live (AccessRules grant their use).
            "catalogNamespace": accesspoint.of(request.app).catalog_namespace,
        }
    )


@router.post(f"{PREFIX}/tokens", status_code=201, operation_id="createToken",
             summary="Issue an API token (its secret is shown once)",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": TokenRequest.model_json_schema(by_alias=True)}}}})  # fmt: skip
async def create_token(
    request: Request, store: StoreDep, identity: auth.IdentityDep
) -> JSONResponse:
    _write_identity(identity)
    body = await _token_request(request)
    user = body.user or identity.user
    await _may_manage(request, identity, user, "create")
    excess = sorted(set(body.scopes) - identity.scopes)
    if excess:
        raise errors.Forbidden(
            f"{identity.describe()} may not issue a token with scope(s) {', '.join(excess)}: "
            "a new token cannot have more scopes than the token that asks for it"
        )
    try:
        target = await store.get(v1alpha1.User, None, user)
    except errors.NotFound:
        raise errors.invalid(
            "Token", "", errors.Cause("user", f'User "{user}" not found', "FieldValueNotFound")
        ) from None
    if target.spec.disabled:
        raise errors.invalid("Token", "", errors.Cause("user", f'User "{user}" is disabled'))
    tokens = auth.tokens_of(request)
    settings_ttl: float = getattr(request.app.state, "token_ttl_hours", 24.0 * 90)
    ttl = timedelta(hours=body.ttl_hours or settings_ttl)
    groups = identity.groups if user == identity.user else ()
    info, token = await tokens.issue(
        user, groups=groups, scopes=body.scopes, ttl=ttl, description=body.description
    )
    return JSONResponse({**info.to_dict(), "token": token}, status_code=201)


@router.get(f"{PREFIX}/rules", operation_id="listRules", response_model=RulesAnswer,
            summary="What the caller may do: verbs per resource, here or globally")  # fmt: skip
async def rules(
    request: Request, identity: auth.IdentityDep, namespace: str | None = None
) -> JSONResponse:
    granted = await auth.authorizer_of(request).rules(identity, namespace or None)
    return JSONResponse({"namespace": namespace or None, "rules": granted})


@router.get(f"{PREFIX}/tokens", operation_id="listTokens", summary="List API tokens (no secrets)")
async def list_tokens(
    request: Request, identity: auth.IdentityDep, user: str | None = None, all: bool = False
) -> JSONResponse:
    if all:
        await auth.authorizer_of(request).check(identity, Permission("list", "tokens"))
        infos = await auth.tokens_of(request).list()
    else:
        target = user or identity.user
        await _may_manage(request, identity, target, "list")
        infos = await auth.tokens_of(request).list(target)
    return JSONResponse({"items": [i.to_dict() for i in infos]})


@router.delete(f"{PREFIX}/tokens/{{token_id}}", operation_id="revokeToken",
               summary="Revoke an API token")  # fmt: skip
async def revoke_token(request: Request, token_id: str, identity: auth.IdentityDep) -> JSONResponse:
    _write_identity(identity)
    tokens = auth.tokens_of(request)
    info = await tokens.get(token_id)
    await _may_manage(request, identity, info.user, "delete")
    return JSONResponse((await tokens.revoke(token_id)).to_dict())
