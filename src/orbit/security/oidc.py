"""OpenID Connect login: the authorization code flow with PKCE, against the company's IdP.

Orbit is the relying party; the identity provider (Keycloak, Dex, Zitadel...) authenticates
people and says which groups they are in, and Orbit's RoleBindings and ClusterRoleBindings bind
those groups to roles. One login, step by step:

1. :meth:`OidcClient.begin`: read the IdP's discovery document (cached), keep a pending login
   in memory under a random ``state`` (nonce, PKCE verifier, where to return, the browser
   binding: see :mod:`orbit.security.logins`) and build the authorization URL with Authlib
   (``response_type=code``, ``code_challenge_method=S256``).
2. :meth:`OidcClient.take` (the callback): the ``state`` finds and removes the pending login,
   and the browser must be the one that started it (the binding cookie), so a callback URL
   lifted from someone else's login is worthless (no login CSRF).
3. :meth:`OidcClient.finish`: Authlib exchanges the code with the verifier at the token
   endpoint (client_secret_basic for a confidential client, else a public client); the ID token
   is verified with joserfc against the IdP's JWKS (asymmetric algorithms only, the keys
   fetched again once when a ``kid`` is unknown, for key rotation): signature, ``iss``, ``aud``
   (and ``azp`` when there are several audiences), ``exp`` and ``iat`` (60 s leeway), ``nonce``.
4. Claims become an Orbit identity (:func:`orbit.security.oidc_users.login_of`): the user
   from ``username_claim``, the groups from ``groups_claim``; when the ID token lacks either,
   the userinfo endpoint is asked too (its ``sub`` must match). The caller then creates or
   updates the User (:func:`orbit.security.oidc_users.sync_user`).
5. :meth:`OidcClient.hold` / :meth:`OidcClient.redeem`: the one-time exchange code that the
   CLI's loopback listener receives instead of a token.

Plain ``http`` is accepted only for an issuer and endpoints on a loopback address (a local
test IdP); anything else must be ``https``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwk, jwt
from joserfc.errors import InvalidKeyIdError, JoseError

from orbit import errors
from orbit.config import OidcSettings
from orbit.security import logins, oidc_users
from orbit.security.oidc_users import OidcLogin

# Asymmetric signatures only: an HMAC ID token would be keyed with the client secret, and
# "none" is never acceptable.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY = 60
DISCOVERY_TTL = 3600.0
JWKS_REFRESH_MIN = 10.0


@dataclass(frozen=True)
class ProviderMetadata:
    """What Orbit uses of the IdP's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class PendingLogin:
    nonce: str
    verifier: str
    next: logins.Next
    redirect_uri: str
    binding: str  # SHA-256 of the browser binding cookie


def check_transport(url: str, what: str) -> str:
    """``url`` if it is https, or http to a loopback address; Invalid configuration otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise errors.Unavailable(
        f"the identity provider's {what} {url!r} must be an https URL "
        "(plain http only on a loopback address)"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OidcClient:
    """Orbit's side of OIDC login for one identity provider (``settings.security.oidc``)."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        login_ttl: float = logins.LOGIN_TTL,
        exchange_ttl: float = logins.EXCHANGE_TTL,
        redirect_uri: str | None = None,
    ) -> None:
        """``redirect_uri``: Orbit's callback URL as registered at the IdP; None derives it
        from each login request's own URL (``{scheme}://{host}/auth/v1/oidc/callback``)."""
        if not settings.issuer:
            raise ValueError("OIDC needs settings.security.oidc.issuer")
        self.settings = settings
        self.issuer = check_transport(settings.issuer.rstrip("/"), "issuer")
        self.timeout = timeout
        self.redirect_uri = redirect_uri
        self._clock = clock
        self.pending: logins.Expiring[PendingLogin] = logins.Expiring(login_ttl, clock=clock)
        self.exchanges: logins.Expiring[OidcLogin] = logins.Expiring(exchange_ttl, clock=clock)
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: jwk.KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls, settings: OidcSettings, *, redirect_uri: str | None = None
    ) -> OidcClient | None:
        """A client when an issuer is configured, else None (OIDC login is off)."""
        return cls(settings, redirect_uri=redirect_uri) if settings.issuer else None

    # -- the IdP's documents ------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        """The discovery document (cached for an hour)."""
        async with self._lock:
            if self._metadata is None or self._clock() - self._metadata_at > DISCOVERY_TTL:
                self._metadata = await self._discover()
                self._metadata_at = self._clock()
            return self._metadata

    async def _discover(self) -> ProviderMetadata:
        doc = await self._get_json(f"{self.issuer}/.well-known/openid-configuration", "discovery")
        issuer = doc.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != self.issuer:
            raise errors.Unavailable(
                f"the identity provider's discovery document names issuer {issuer!r}, "
                f"not the configured {self.issuer!r}"
            )
        endpoints = {}
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(key)
            if not isinstance(value, str) or not value:
                raise errors.Unavailable(f"the identity provider's discovery lacks {key}")
            endpoints[key] = check_transport(value, key)
        userinfo = doc.get("userinfo_endpoint")
        advertised = doc.get("id_token_signing_alg_values_supported")
        if not isinstance(advertised, list) or not advertised:
            advertised = ["RS256"]  # the default of OpenID Connect Discovery
        algorithms = tuple(a for a in ALGORITHMS if a in advertised)
        if not algorithms:
            raise errors.Unavailable(
                f"the identity provider signs ID tokens with {advertised}; Orbit accepts "
                f"{', '.join(ALGORITHMS)}"
            )
        return ProviderMetadata(
            issuer=issuer,
            userinfo_endpoint=check_transport(userinfo, "userinfo_endpoint")
            if isinstance(userinfo, str) and userinfo
            else None,
            algorithms=algorithms,
            **endpoints,
        )

    async def _key_set(self, *, refresh: bool = False) -> jwk.KeySet:
        meta = await self.metadata()
        async with self._lock:
            stale = refresh and self._clock() - self._keys_at >= JWKS_REFRESH_MIN
            if self._keys is None or stale:
                doc = await self._get_json(meta.jwks_uri, "JWKS")
                listed = doc.get("keys")
                keys = (
                    [k for k in listed if isinstance(k, dict)] if isinstance(listed, list) else []
                )
                usable = [k for k in keys if k.get("kty") != "oct" and k.get("use") != "enc"]
                try:
                    self._keys = jwk.KeySet.import_key_set({"keys": usable})
                except (JoseError, ValueError) as exc:
                    raise errors.Unavailable(
                        f"the identity provider's JWKS cannot be read: {exc}"
                    ) from None
                self._keys_at = self._clock()
            return self._keys

    async def _get_json(
        self, url: str, what: str, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(
                    url, headers={"Accept": "application/json", **(headers or {})}
                )
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise errors.Unavailable(
                f"the identity provider's {what} at {url} could not be read: {exc}"
            ) from None
        if not isinstance(doc, dict):
            raise errors.Unavailable(f"the identity provider's {what} at {url} is not an object")
        return doc

    # -- the login --------------------------------------------------------------------------

    def _oauth(self, redirect_uri: str) -> AsyncOAuth2Client:
        secret = self.settings.client_secret
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=secret,
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            scope=self.settings.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
        )

    async def begin(self, next_: logins.Next, *, redirect_uri: str, binding: str) -> str:
        """Start a login returning to ``next_``; the IdP URL to send the browser to.
        ``binding`` is the browser's binding cookie value (the callback must carry it)."""
        meta = await self.metadata()
        state, nonce, verifier = logins.new_secret(), logins.new_secret(), logins.new_secret()
        async with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                meta.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
            )
        self.pending.put(
            state,
            PendingLogin(nonce, verifier, next_, redirect_uri, logins.digest(binding)),
        )
        return str(url)

    def take(self, state: str | None, binding: str | None) -> PendingLogin:
        """The pending login of ``state`` (removed: a state works once), if ``binding`` is the
        cookie of the browser that started it; BadRequest otherwise."""
        pending = self.pending.pop(state) if state else None
        if pending is None:
            raise errors.BadRequest(
                "unknown or expired login state: start the login again (logins expire after "
                f"{self.pending.ttl / 60:g} minutes and work once)"
            )
        if not binding or not logins.same(logins.digest(binding), pending.binding):
            raise errors.BadRequest(
                "this login was started in another browser: start it again from this one"
            )
        return pending

    async def finish(self, pending: PendingLogin, code: str) -> OidcLogin:
        """Exchange ``code`` (with the PKCE verifier), verify the ID token, map its claims."""
        meta = await self.metadata()
        try:
            async with self._oauth(pending.redirect_uri) as oauth:
                token = await oauth.fetch_token(
                    meta.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.verifier,
                )
        except OAuthError as exc:
            raise errors.Unauthorized(
                f"the identity provider refused the authorization code: {exc.error}"
                + (f" ({exc.description})" if exc.description else "")
            ) from None
        except (httpx2.HTTPError, httpx.HTTPError, ValueError) as exc:
            raise errors.Unavailable(
                f"the identity provider's token endpoint could not be used: {exc}"
            ) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise errors.Unauthorized("the identity provider returned no ID token (scope openid?)")
        claims = await self.verify_id_token(id_token, nonce=pending.nonce)
        access_token = token.get("access_token")
        if self._needs_userinfo(claims) and meta.userinfo_endpoint and access_token:
            claims = await self._with_userinfo(claims, meta.userinfo_endpoint, str(access_token))
        return oidc_users.login_of(self.settings, claims)

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of ``id_token`` once its signature and claims check out; Unauthorized
        naming what is wrong otherwise."""
        meta = await self.metadata()
        keys = await self._key_set()
        try:
            try:
                decoded = jwt.decode(id_token, keys, algorithms=list(meta.algorithms))
            except InvalidKeyIdError:
                keys = await self._key_set(refresh=True)
                decoded = jwt.decode(id_token, keys, algorithms=list(meta.algorithms))
            claims = dict(decoded.claims)
            jwt.JWTClaimsRegistry(
                now=int(self._clock()),
                leeway=LEEWAY,
                iss={"essential": True, "value": meta.issuer},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            raise errors.Unauthorized(f"the ID token is not valid: {_describe(exc)}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise errors.Unauthorized(
                "the ID token is not valid: it has several audiences and azp is not Orbit's "
                "client id"
            )
        return claims

    def _needs_userinfo(self, claims: dict[str, Any]) -> bool:
        return self.settings.username_claim not in claims or (
            self.settings.groups_claim not in claims
        )

    async def _with_userinfo(
        self, claims: dict[str, Any], endpoint: str, access_token: str
    ) -> dict[str, Any]:
        info = await self._get_json(
            endpoint, "userinfo", headers={"Authorization": f"Bearer {access_token}"}
        )
        if info.get("sub") != claims["sub"]:
            raise errors.Unauthorized("the userinfo response is for another subject")
        return {**info, **claims}

    # -- the exchange code --------------------------------------------------------------------

    def hold(self, login: OidcLogin) -> str:
        """A one-time code the CLI redeems (within the exchange TTL) for ``login``'s token."""
        code = logins.new_secret()
        self.exchanges.put(logins.digest(code), login)
        return code

    def redeem(self, code: str) -> OidcLogin:
        login = self.exchanges.pop(logins.digest(code)) if code else None
        if login is None:
            raise errors.Unauthorized(
                "the login code is unknown, used or expired: codes work once, within "
                f"{self.exchanges.ttl:g} seconds"
            )
        return login


def _describe(exc: Exception) -> str:
    description = getattr(exc, "description", None)
    return str(description or exc or type(exc).__name__)
