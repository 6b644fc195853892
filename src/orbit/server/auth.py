"""Authentication and authorization of requests, as FastAPI dependencies.

Every route but ``/healthz``, ``/readyz`` and the login endpoints declares what it needs with
``Depends(require(verb, resource))``: the dependency authenticates the bearer token (header
``Authorization: Bearer orbit_...``, or the ``orbit_token`` cookie the dashboard sets, which
for writes must come with the ``X-Orbit-CSRF: 1`` header), asks the
:class:`orbit.security.rbac.Authorizer`, and leaves the identity on ``request.state.identity``
for the handler and the audit recorder. Route-level dependencies run before FastAPI validates
the request's parameters, so an unauthenticated caller learns nothing about them (401 first).

The namespace a permission is checked in comes from the ``{namespace}`` path parameter; the
Namespace kind's own item routes check ``namespaces:<verb>`` in the namespace they name, so a
namespace role may read its own Namespace object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from orbit import errors
from orbit.security.identity import Identity
from orbit.security.rbac import Authorizer, Permission
from orbit.security.tokens import TokenStore

COOKIE = "orbit_token"
CSRF_HEADER = "X-Orbit-CSRF"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def tokens_of(request: Request) -> TokenStore:
    tokens: TokenStore | None = getattr(request.app.state, "tokens", None)
    if tokens is None:
        raise errors.Unavailable("the server is starting: authentication is not ready yet")
    return tokens


def authorizer_of(request: Request) -> Authorizer:
    authorizer: Authorizer | None = getattr(request.app.state, "authorizer", None)
    if authorizer is None:
        raise errors.Unavailable("the server is starting: authorization is not ready yet")
    return authorizer


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise errors.Unauthorized("the Authorization header must be 'Bearer <token>'")
        return value.strip()
    token = request.cookies.get(COOKIE) or None
    # A browser sends the cookie with any request to Orbit, a forged cross-site form's too;
    # only Orbit's own pages can add a custom header (other origins would need CORS: refused).
    unsafe = token is not None and request.method not in SAFE_METHODS
    if unsafe and request.headers.get(CSRF_HEADER) != "1":
        raise errors.Forbidden(
            f"a write authenticated by the session cookie needs the {CSRF_HEADER}: 1 "
            "header (the dashboard sends it; other clients send Authorization: Bearer)"
        )
    return token


async def authenticate(request: Request) -> Identity:
    """The caller's identity (cached on the request); Unauthorized when there is none."""
    known: Identity | None = getattr(request.state, "identity", None)
    if known is not None:
        return known
    token = bearer_token(request)
    if token is None:
        raise errors.Unauthorized(
            "authentication required: send 'Authorization: Bearer <token>' "
            "(orbit login stores one for the CLI)"
        )
    identity = await tokens_of(request).authenticate(token)
    request.state.identity = identity
    return identity


IdentityDep = Annotated[Identity, Depends(authenticate)]


def require(
    verb: str, resource: str, *, namespace_param: str | None = "namespace"
) -> Callable[[Request], Awaitable[Identity]]:
    """A dependency granting the request only if the caller may ``verb`` ``resource``.

    ``verb`` "list" becomes "watch" for a request with ``?watch=true``. The namespace comes
    from the path parameter ``namespace_param`` (None: a cluster-scoped permission)."""

    async def dependency(request: Request) -> Identity:
        identity = await authenticate(request)
        effective = verb
        if verb == "list" and request.query_params.get("watch", "").lower() in ("true", "1"):
            effective = "watch"
        namespace = request.path_params.get(namespace_param) if namespace_param else None
        await authorizer_of(request).check(
            identity, Permission(effective, resource, str(namespace) if namespace else None)
        )
        return identity

    dependency.__name__ = f"require_{verb}_{resource.replace('/', '_')}"
    return dependency
