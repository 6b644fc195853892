"""A strict local OpenID Connect provider for the login tests, built from Authlib's server parts.

Why not only ``oidc-provider-mock``: its last release for Python 3.11 (0.3.x) accepts a PKCE
``code_challenge`` but never checks the verifier, so a relying party that sent the wrong one
(or none) would pass. This provider is Authlib's own ``AuthorizationCodeGrant`` with
``CodeChallenge(required=True)`` (S256 only) and ``OpenIDCode(require_nonce=True)``, served by
werkzeug on 127.0.0.1 in a thread; it signs ID tokens with RS256 (joserfc) and serves
discovery, JWKS, the authorization endpoint, the token endpoint and userinfo. The mock is still
used for one interoperability test (tests/security/test_oidc.py).

The authorization endpoint behaves like the mock's: ``GET`` shows a form, ``POST`` with
``sub=<user>`` authorizes that user (``action=deny`` refuses). Knobs for the tests:
``users`` (sub -> claims), ``id_token_filter`` (rewrite the ID token the token endpoint
returns: :meth:`resign` forges one with other claims or another key) and
``userinfo_only`` (claims that appear only in the userinfo response, not in the ID token).
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flask
import werkzeug.serving
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, UserInfo
from authlib.oidc.core import grants as oidc_grants
from joserfc import jwk, jwt

CLIENT_ID = "orbit"


@functools.cache
def signing_key() -> jwk.RSAKey:
    """The provider's RS256 key (made once per test session: RSA key generation is slow)."""
    return jwk.RSAKey.generate_key(2048, parameters={"kid": "test-key"}, private=True)


@dataclass
class _Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str | None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "profile", "email", "groups"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri.endswith("/auth/v1/oidc/callback")

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(
            client_secret, self.client_secret
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client_secret is None:
            return method == "none"
        return method == "client_secret_basic"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"


@dataclass
class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class S256Only(CodeChallenge):  # type: ignore[misc]
    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)


@dataclass(frozen=True)
class _User:
    sub: str

    def get_user_id(self) -> str:
        return self.sub


class TestProvider:
    """The provider; use as a context manager (``with TestProvider(...) as idp``)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        users: dict[str, dict[str, Any]] | None = None,
        *,
        client_secret: str | None = None,
        id_token_lifetime: int = 300,
    ) -> None:
        self.users: dict[str, dict[str, Any]] = dict(users or {})
        self.client = _Client(CLIENT_ID, client_secret)
        self.key = signing_key()
        self.id_token_lifetime = id_token_lifetime
        self.id_token_filter: Callable[[str], str] | None = None
        self.userinfo_only: set[str] = set()
        self.codes: dict[str, _Code] = {}
        self.access_tokens: dict[str, str] = {}  # token -> sub
        self.token_requests: list[dict[str, str]] = []
        self.nonces: set[str] = set()
        self.issuer = ""
        self._server: werkzeug.serving.BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> TestProvider:
        self._server = werkzeug.serving.make_server("127.0.0.1", 0, self._app(), threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- forging ID tokens ----------------------------------------------------------------------

    def claims_of(self, id_token: str) -> dict[str, Any]:
        return dict(jwt.decode(id_token, self.key, algorithms=["RS256"]).claims)

    def resign(self, id_token: str, *, key: jwk.RSAKey | None = None, **changes: Any) -> str:
        """``id_token`` with ``changes`` to its claims, signed by ``key`` (default: the real
        key, so only the claim checks can catch the change)."""
        claims = {**self.claims_of(id_token), **changes}
        signer = key or self.key
        return jwt.encode({"alg": "RS256", "kid": signer.kid}, claims, signer, algorithms=["RS256"])

    # -- the app --------------------------------------------------------------------------------

    def _app(self) -> flask.Flask:
        app = flask.Flask("orbit-test-idp")
        app.config["OAUTH2_ERROR_URIS"] = None
        provider = self

        def save_token(token: dict[str, Any], request: Any) -> None:
            provider.access_tokens[token["access_token"]] = request.user.sub

        server = AuthorizationServer(app, query_client=self._query_client, save_token=save_token)

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "none")

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                provider.codes[code] = _Code(
                    code=code,
                    client_id=request.client.get_client_id(),
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.payload.scope,
                    sub=request.user.sub,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: _Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: _Code) -> _User:
                return _User(authorization_code.sub)

        class OpenIDCode(oidc_grants.OpenIDCode):  # type: ignore[misc]
            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return nonce in provider.nonces

            def resolve_client_private_key(self, client: _Client) -> jwk.RSAKey:
                return provider.key

            def get_client_algorithm(self, client: _Client) -> str:
                return "RS256"

            def get_encode_header(self, client: _Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": provider.key.kid or ""}

            def get_client_claims(self, client: _Client) -> dict[str, Any]:
                now = int(time.time())
                return {
                    "iss": provider.issuer,
                    "aud": [client.get_client_id()],
                    "iat": now,
                    "exp": now + provider.id_token_lifetime,
                }

            def generate_user_info(self, user: _User, scope: str) -> UserInfo:
                claims = {
                    k: v
                    for k, v in provider.users.get(user.sub, {}).items()
                    if k not in provider.userinfo_only
                }
                return UserInfo(sub=user.sub, **claims)

        server.register_grant(CodeGrant, [S256Only(required=True), OpenIDCode(require_nonce=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            base = provider.issuer
            return flask.jsonify(
                issuer=base,
                authorization_endpoint=f"{base}/authorize",
                token_endpoint=f"{base}/token",
                jwks_uri=f"{base}/jwks",
                userinfo_endpoint=f"{base}/userinfo",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
            )

        @app.get("/jwks")
        def jwks() -> Any:
            return flask.jsonify(jwk.KeySet([provider.key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            if flask.request.method == "GET":
                grant = server.get_consent_grant(end_user=None)
                return (
                    f"<form method=post><input name=sub><button>Authorize</button></form>"
                    f"<p>{grant.client.get_client_id()}</p>"
                )
            user = (
                None
                if flask.request.form.get("action") == "deny"
                else _User(flask.request.form["sub"])
            )
            grant = server.get_consent_grant(end_user=user)
            response = server.create_authorization_response(grant_user=user, grant=grant)
            if user is not None and (nonce := flask.request.args.get("nonce")):
                provider.nonces.add(nonce)
            return response

        @app.post("/token")
        def token() -> Any:
            provider.token_requests.append(dict(flask.request.form))
            response = server.create_token_response()
            body = response.get_json(silent=True) or {}
            if provider.id_token_filter is not None and "id_token" in body:
                body["id_token"] = provider.id_token_filter(body["id_token"])
                response.set_data(json.dumps(body))
            return response

        @app.get("/userinfo")
        def userinfo() -> Any:
            scheme, _, value = flask.request.headers.get("Authorization", "").partition(" ")
            sub = provider.access_tokens.get(value) if scheme.lower() == "bearer" else None
            if sub is None:
                return flask.jsonify(error="invalid_token"), 401
            return flask.jsonify(sub=sub, **provider.users.get(sub, {}))

        return app

    def _query_client(self, client_id: str) -> _Client | None:
        return self.client if client_id == self.client.client_id else None
