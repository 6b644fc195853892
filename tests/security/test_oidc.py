"""OIDC login against a local OpenID provider: the code flow with PKCE, the ID token checks,
the one-time exchange code, the return-address rules, and the IdP's groups becoming Orbit roles.

The provider is tests/security/oidc_provider.py (Authlib's server: PKCE S256 and the nonce are
required and checked) on a real loopback port; one test runs against ``oidc-provider-mock``
too. The "browser" is an httpx client that talks to Orbit in-process and to the IdP over HTTP
and keeps cookies, as a browser does.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwk

from orbit import errors
from orbit.api import v1alpha1
from orbit.config import OidcSettings
from orbit.security import logins
from orbit.security.oidc import OidcClient, check_transport
from orbit.security.oidc_users import (
    ISSUER_ANNOTATION,
    SUBJECT_ANNOTATION,
    group_names,
    login_of,
    user_name,
)
from orbit.server import create_app
from orbit.store import SqlStore

from .oidc_provider import TestProvider

ORBIT = "http://orbit.test"
P = "/apis/orbit.k8or.io/v1alpha1"
LOOPBACK = "http://127.0.0.1:8765/callback?state=cli-state"

USERS: dict[str, dict[str, Any]] = {
    "sub-alice": {
        "preferred_username": "alice",
        "name": "Alice Lead",
        "email": "alice@example.com",
        "email_verified": True,
        "groups": ["platform-leads", "everyone"],
    },
    "sub-bob": {"preferred_username": "bob", "groups": ["everyone"]},
    "sub-mallory": {"preferred_username": "admin", "groups": ["platform-leads"]},
}


@pytest.fixture
def idp() -> Iterator[TestProvider]:
    with TestProvider(USERS) as provider:
        yield provider


def settings_for(issuer: str, **overrides: Any) -> OidcSettings:
    return OidcSettings(issuer=issuer, client_id="orbit", **overrides)


@pytest.fixture
def app(store: SqlStore, idp: TestProvider) -> FastAPI:
    app = create_app(store=store)
    app.state.oidc = OidcClient(settings_for(idp.issuer))
    return app


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Orbit in-process at http://orbit.test, everything else over the network; cookies kept."""
    orbit = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(mounts={ORBIT: orbit}, base_url=ORBIT, timeout=30) as http:
        yield http


@pytest.fixture
async def admin(app: FastAPI, admin_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url=ORBIT, headers=admin_headers
    ) as http:
        yield http


async def sign_in(
    browser: httpx.AsyncClient, sub: str, *, next_: str = LOOPBACK, action: str | None = None
) -> httpx.Response:
    """Start a login, authorize ``sub`` at the IdP's form, and follow the redirects until the
    browser is sent back to ``next_``: that last redirect (Orbit's callback answer)."""
    started = await browser.get("/auth/v1/oidc/login", params={"next": next_})
    assert started.status_code == 302, started.text
    form = await browser.get(started.headers["location"])
    assert form.status_code == 200, form.text
    data = {"action": action} if action else {"sub": sub}
    response = await browser.post(str(form.url), data=data)
    while response.status_code in (302, 303) and "/auth/v1/oidc/" in response.headers["location"]:
        response = await browser.get(response.headers["location"])
    return response


def returned(response: httpx.Response) -> dict[str, str]:
    """The query Orbit put on the redirect back to ``next``."""
    assert response.status_code == 303, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def login_token(browser: httpx.AsyncClient, sub: str) -> str:
    query = returned(await sign_in(browser, sub))
    assert "code" in query, query
    exchanged = await browser.post("/auth/v1/oidc/exchange", json={"code": query["code"]})
    assert exchanged.status_code == 200, exchanged.text
    token: str = exchanged.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_namespace(admin: httpx.AsyncClient, name: str) -> None:
    created = await admin.post(f"{P}/namespaces", json={"metadata": {"name": name}})
    assert created.status_code == 201, created.text


# -- the flow ------------------------------------------------------------------------------------


async def test_info_says_whether_oidc_is_offered(browser: httpx.AsyncClient, idp: TestProvider):
    info = (await browser.get("/auth/v1/oidc")).json()
    assert info == {"enabled": True, "issuer": idp.issuer, "loginPath": "/auth/v1/oidc/login"}


async def test_without_an_issuer_the_login_routes_answer_404(store: SqlStore):
    app = create_app(store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORBIT) as http:
        assert (await http.get("/auth/v1/oidc")).json()["enabled"] is False
        for response in (
            await http.get("/auth/v1/oidc/login", params={"next": "/"}),
            await http.get("/auth/v1/oidc/callback", params={"state": "s", "code": "c"}),
            await http.post("/auth/v1/oidc/exchange", json={"code": "c"}),
        ):
            assert response.status_code == 404
            assert "security.oidc.issuer" in response.json()["message"]


async def test_login_uses_pkce_s256_and_a_nonce(browser: httpx.AsyncClient, idp: TestProvider):
    started = await browser.get("/auth/v1/oidc/login", params={"next": LOOPBACK})
    query = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["location"]).query).items()}
    assert query["code_challenge_method"] == "S256"
    assert query["nonce"] and query["state"] and query["response_type"] == "code"
    assert query["redirect_uri"] == f"{ORBIT}/auth/v1/oidc/callback"
    form = await browser.get(started.headers["location"])
    callback = await browser.post(str(form.url), data={"sub": "sub-alice"})
    await browser.get(callback.headers["location"])
    (sent,) = idp.token_requests
    digest = hashlib.sha256(sent["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]


async def test_idp_groups_bound_globally_grant_exactly_global_viewer(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, store: SqlStore
):
    binding = {
        "metadata": {"name": "leads-view"},
        "spec": {
            "role": "global-viewer",
            "subjects": [{"kind": "Group", "name": "platform-leads"}],
        },
    }
    assert (await admin.post(f"{P}/clusterrolebindings", json=binding)).status_code == 201
    token = await login_token(browser, "sub-alice")
    who = (await browser.get("/auth/v1/whoami", headers=bearer(token))).json()
    assert who["user"] == "alice"
    assert set(who["groups"]) == {"platform-leads", "everyone"}
    assert who["roles"]["global"] == ["global-viewer"]
    listed = await browser.get(f"{P}/namespaces", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    refused = await browser.post(
        f"{P}/namespaces", headers=bearer(token), json={"metadata": {"name": "nope"}}
    )
    assert refused.status_code == 403
    # The IdP's groups travel on the token, not in the User.
    user = await store.get(v1alpha1.User, None, "alice")
    assert user.spec.groups == []
    assert (user.spec.display_name, user.spec.email) == ("Alice Lead", "alice@example.com")
    assert user.metadata.annotations[SUBJECT_ANNOTATION] == "sub-alice"


async def test_idp_groups_bound_in_a_namespace_grant_exactly_that_namespace(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, app: FastAPI, idp: TestProvider
):
    app.state.oidc = OidcClient(settings_for(idp.issuer, user_prefix="sso-", group_prefix="idp:"))
    for ns in ("team-a", "team-b"):
        await make_namespace(admin, ns)
    binding = {
        "metadata": {"name": "leads-admin"},
        "spec": {
            "role": "namespace-admin",
            "subjects": [{"kind": "Group", "name": "idp:platform-leads"}],
        },
    }
    made = await admin.post(f"{P}/namespaces/team-a/rolebindings", json=binding)
    assert made.status_code == 201, made.text
    token = await login_token(browser, "sub-alice")
    who = (await browser.get("/auth/v1/whoami", headers=bearer(token))).json()
    assert who["user"] == "sso-alice"
    assert who["roles"]["global"] == []
    assert who["roles"]["namespaces"] == {"team-a": ["namespace-admin"]}
    allowed = await browser.get(f"{P}/namespaces/team-a/rolebindings", headers=bearer(token))
    assert allowed.status_code == 200, allowed.text
    denied = await browser.get(f"{P}/namespaces/team-b/rolebindings", headers=bearer(token))
    assert denied.status_code == 403
    # bob is not in the group: nothing anywhere.
    bobs = await login_token(browser, "sub-bob")
    assert (
        await browser.get(f"{P}/namespaces/team-a/rolebindings", headers=bearer(bobs))
    ).status_code == 403


async def test_a_dashboard_path_gets_the_token_as_a_cookie(browser: httpx.AsyncClient):
    response = await sign_in(browser, "sub-alice", next_="/ui/clusters?view=all")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/clusters?view=all"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("orbit_token=orbit_")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    who = await browser.get("/auth/v1/whoami")  # the cookie jar sends it back
    assert who.status_code == 200 and who.json()["user"] == "alice"


async def test_the_user_refusing_at_the_idp_goes_back_with_an_error(browser: httpx.AsyncClient):
    query = returned(await sign_in(browser, "", action="deny"))
    assert "code" not in query
    assert query["error"] == "Unauthorized"
    assert "access_denied" in query["error_description"]


# -- refusals ------------------------------------------------------------------------------------


async def test_a_wrong_state_is_refused(browser: httpx.AsyncClient):
    await browser.get("/auth/v1/oidc/login", params={"next": LOOPBACK})
    response = await browser.get("/auth/v1/oidc/callback", params={"state": "forged", "code": "x"})
    assert response.status_code == 400
    assert "unknown or expired login state" in response.json()["message"]


async def test_a_callback_from_another_browser_is_refused(browser: httpx.AsyncClient, app: FastAPI):
    started = await browser.get("/auth/v1/oidc/login", params={"next": LOOPBACK})
    form = await browser.get(started.headers["location"])
    callback = (await browser.post(str(form.url), data={"sub": "sub-alice"})).headers["location"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORBIT) as other:
        response = await other.get(callback)
    assert response.status_code == 400
    assert "another browser" in response.json()["message"]
    # and the state is spent: the right browser cannot use it after that either
    assert (await browser.get(callback)).status_code == 400


async def test_an_exchange_code_works_once(browser: httpx.AsyncClient):
    code = returned(await sign_in(browser, "sub-alice"))["code"]
    first = await browser.post("/auth/v1/oidc/exchange", json={"code": code})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    again = await browser.post("/auth/v1/oidc/exchange", json={"code": code})
    assert again.status_code == 401
    assert "unknown, used or expired" in again.json()["message"]


async def test_an_exchange_code_expires_after_60_seconds(
    browser: httpx.AsyncClient, app: FastAPI, idp: TestProvider
):
    now = [time.time()]
    app.state.oidc = OidcClient(settings_for(idp.issuer), clock=lambda: now[0])
    code = returned(await sign_in(browser, "sub-alice"))["code"]
    now[0] += 61
    response = await browser.post("/auth/v1/oidc/exchange", json={"code": code})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("forge", "problem"),
    [
        pytest.param(lambda idp, t: t[:-8] + ("A" * 8 if t[-8:] != "A" * 8 else "B" * 8),
                     "signature", id="tampered-signature"),
        pytest.param(lambda idp, t: _swap_payload(t, idp.resign(t, preferred_username="admin")),
                     "signature", id="tampered-claims"),
        pytest.param(lambda idp, t: idp.resign(t, aud="someone-else"), "aud", id="wrong-audience"),
        pytest.param(lambda idp, t: idp.resign(t, iss="http://127.0.0.1:1"), "iss",
                     id="wrong-issuer"),
        pytest.param(lambda idp, t: idp.resign(t, nonce="replayed"), "nonce", id="wrong-nonce"),
        pytest.param(lambda idp, t: idp.resign(t, exp=int(time.time()) - 600), "expired",
                     id="expired"),
        pytest.param(lambda idp, t: idp.resign(t, key=_other_key()), "kid", id="unknown-key"),
        pytest.param(lambda idp, t: idp.resign(t, key=_other_key("test-key")), "signature",
                     id="other-key-same-kid"),
    ],
)  # fmt: skip
async def test_a_bad_id_token_is_refused(
    browser: httpx.AsyncClient, idp: TestProvider, store: SqlStore, forge: Any, problem: str
):
    idp.id_token_filter = lambda token: forge(idp, token)
    query = returned(await sign_in(browser, "sub-alice"))
    assert "code" not in query
    assert query["error"] == "Unauthorized"
    assert "the ID token is not valid" in query["error_description"]
    assert problem in query["error_description"]
    with pytest.raises(errors.NotFound):
        await store.get(v1alpha1.User, None, "alice")


def _other_key(kid: str = "attacker") -> jwk.RSAKey:
    return jwk.RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


def _swap_payload(original: str, forged: str) -> str:
    """The original header and signature around the forged payload."""
    header, _, signature = original.split(".")
    return ".".join((header, forged.split(".")[1], signature))


async def test_a_login_never_takes_over_a_local_user(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient
):
    # mallory's IdP account calls itself "admin": the first-start admin is not hers.
    query = returned(await sign_in(browser, "sub-mallory"))
    assert query["error"] == "Forbidden"
    assert 'User "admin" exists and is not linked' in query["error_description"]


async def test_a_user_made_for_the_issuer_is_claimed_by_its_first_login(
    browser: httpx.AsyncClient, store: SqlStore, idp: TestProvider
):
    await store.create(
        v1alpha1.User(
            metadata=v1alpha1.ObjectMeta(name="alice", annotations={ISSUER_ANNOTATION: idp.issuer}),
            spec=v1alpha1.UserSpec(groups=["local-group"]),
        )
    )
    token = await login_token(browser, "sub-alice")
    who = (await browser.get("/auth/v1/whoami", headers=bearer(token))).json()
    assert set(who["groups"]) == {"platform-leads", "everyone", "local-group"}
    alice = await store.get(v1alpha1.User, None, "alice")
    assert alice.metadata.annotations[SUBJECT_ANNOTATION] == "sub-alice"
    assert alice.spec.groups == ["local-group"]
    # From now on it is alice's: another account of the same name is turned away.
    idp.users["sub-alice-2"] = {"preferred_username": "alice"}
    query = returned(await sign_in(browser, "sub-alice-2"))
    assert query["error"] == "Forbidden"


async def test_a_disabled_user_cannot_log_in(browser: httpx.AsyncClient, store: SqlStore):
    await login_token(browser, "sub-bob")
    bob = await store.get(v1alpha1.User, None, "bob")
    bob.spec.disabled = True
    await store.update(bob)
    query = returned(await sign_in(browser, "sub-bob"))
    assert query["error"] == "Unauthorized" and "disabled" in query["error_description"]


async def test_groups_only_in_userinfo_are_used(browser: httpx.AsyncClient, idp: TestProvider):
    idp.userinfo_only = {"groups"}
    token = await login_token(browser, "sub-alice")
    who = (await browser.get("/auth/v1/whoami", headers=bearer(token))).json()
    assert set(who["groups"]) == {"platform-leads", "everyone"}


@pytest.mark.parametrize(
    "next_",
    [
        "http://evil.example/callback",
        "https://127.0.0.1:8765/callback",
        "http://127.0.0.1/callback",
        "http://localhost:8765/callback",
        "http://user@127.0.0.1:8765/callback",
        "http://127.0.0.1:8765@evil.example/callback",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://[::1",
    ],
)
async def test_next_must_be_loopback_or_a_local_path(idp: TestProvider, next_: str):
    app = create_app(store=None)  # starting a login touches no store
    app.state.oidc = OidcClient(settings_for(idp.issuer))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORBIT) as http:
        response = await http.get("/auth/v1/oidc/login", params={"next": next_})
        assert response.status_code == 400, response.text
        assert len(app.state.oidc.pending) == 0
        fine = await http.get("/auth/v1/oidc/login", params={"next": "http://[::1]:9/cb"})
        assert fine.status_code == 302


async def test_the_token_lifetime_is_the_servers(browser: httpx.AsyncClient, app: FastAPI):
    app.state.token_ttl_hours = 2.0
    code = returned(await sign_in(browser, "sub-alice"))["code"]
    made = (await browser.post("/auth/v1/oidc/exchange", json={"code": code})).json()
    assert made["user"] == "alice" and made["description"].startswith("OIDC login")
    assert made["scopes"] == ["read", "write", "proxy"]
    assert made["expiresAt"] is not None


# -- units ---------------------------------------------------------------------------------------


def test_user_names_become_object_names():
    assert user_name("", "alice") == "alice"
    assert user_name("oidc:", "Alice@Example.com") == "oidc-alice-example.com"
    assert user_name("", "Ünïcode Name") == "n-code-name"
    with pytest.raises(errors.Unauthorized):
        user_name("", "@@@")


def test_group_claims_are_kept_verbatim_with_their_prefix():
    assert group_names("", ["/platform/leads", "a", "a", 3, ""]) == ("/platform/leads", "a")
    assert group_names("oidc:", "single") == ("oidc:single",)
    assert group_names("", None) == ()
    assert group_names("", {"viewer": {"1": "org"}, "admin": {}}) == ("viewer", "admin")
    assert group_names("", ["x" * 300]) == ()


def test_the_username_claim_must_be_there_and_an_email_verified():
    settings = settings_for("http://127.0.0.1:1", username_claim="email")
    claims = {"iss": "http://127.0.0.1:1", "sub": "s1", "email": "A@b.example"}
    assert login_of(settings, claims).user == "a-b.example"
    with pytest.raises(errors.Unauthorized, match="not verified"):
        login_of(settings, {**claims, "email_verified": False})
    with pytest.raises(errors.Unauthorized, match='no "preferred_username" claim'):
        login_of(settings_for("http://127.0.0.1:1"), claims)


def test_plain_http_is_only_for_loopback_issuers():
    assert check_transport("http://127.0.0.1:5556/dex", "issuer")
    assert check_transport("https://sso.example.com/realms/orbit", "issuer")
    with pytest.raises(errors.Unavailable, match="https"):
        OidcClient(settings_for("http://sso.example.com/realms/orbit"))


def test_pending_state_is_bounded_and_expires():
    now = [0.0]
    held: logins.Expiring[int] = logins.Expiring(10, max_entries=3, clock=lambda: now[0])
    for i in range(5):
        held.put(str(i), i)
    assert len(held) == 3 and held.pop("0") is None and held.pop("4") == 4
    now[0] = 11
    assert held.pop("3") is None and len(held) == 0


def test_return_params_are_orbits_own():
    url = logins.with_params("http://127.0.0.1:9/cb?state=s&code=planted", code="real")
    assert parse_qs(urlsplit(url).query) == {"state": ["s"], "code": ["real"]}


# -- another provider implementation ---------------------------------------------------------------


# The mock is written against Authlib APIs that Authlib now deprecates (in its own thread).
@pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning")
@pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")
async def test_login_against_oidc_provider_mock(store: SqlStore):
    """Interoperability with an independent provider (which does not check PKCE itself)."""
    import oidc_provider_mock

    users = [oidc_provider_mock.User(sub="sub-carol", claims={
        "preferred_username": "carol", "groups": ["platform-leads"]})]  # fmt: skip
    with oidc_provider_mock.run_server_in_thread(user_claims=users, require_nonce=True) as server:
        issuer = f"http://localhost:{server.server_port}"
        app = create_app(store=store)
        # The mock wants a confidential client: this also covers client_secret_basic.
        app.state.oidc = OidcClient(settings_for(issuer, client_secret="s3cret"))
        orbit = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(mounts={ORBIT: orbit}, base_url=ORBIT, timeout=30) as browser:
            token = await login_token(browser, "sub-carol")
            who = (await browser.get("/auth/v1/whoami", headers=bearer(token))).json()
    assert who["user"] == "carol" and who["groups"] == ["platform-leads"]
