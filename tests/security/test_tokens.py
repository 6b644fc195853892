"""API tokens: stored as argon2 hashes, scopes narrow a token, revocation and disabled users
take effect on the next request, and the first-start bootstrap happens once."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from orbit import errors
from orbit.api import v1alpha1
from orbit.security import bootstrap
from orbit.security.tokens import TokenStore
from orbit.server import create_app
from orbit.store import schema
from orbit.store.sql import SqlStore
from tests.conftest import admin_token

P = f"/apis/{v1alpha1.API_VERSION}"


def http(store: SqlStore, token: str | None) -> httpx.AsyncClient:
    app = create_app(store=store)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://orbit.test", headers=headers)


async def test_only_an_argon2_hash_is_stored(store: SqlStore, tmp_path: Path) -> None:
    token = await admin_token(store, tmp_path)
    token_id, secret = token.removeprefix("orbit_").split("_", 1)
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(schema.api_tokens))).one()
    assert row.id == token_id
    assert row.secret_hash.startswith("$argon2id$")
    assert secret not in row.secret_hash and secret not in str(tuple(row))
    identity = await TokenStore(store).authenticate(token)
    assert identity.user == "admin" and identity.token_id == token_id
    with pytest.raises(errors.Unauthorized, match="not valid"):
        await TokenStore(store).authenticate(f"orbit_{token_id}_{secret[:-2]}xx")


async def test_bootstrap_happens_once_and_writes_a_private_file(
    store: SqlStore, tmp_path: Path
) -> None:
    path = tmp_path / "secret" / "admin.token"
    first = await bootstrap.ensure_admin(store, TokenStore(store), path)
    assert first.token is not None and path.read_text().strip() == first.token
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    again = await bootstrap.ensure_admin(store, TokenStore(store), path)
    assert again.token is None and path.read_text().strip() == first.token
    binding = await store.get(v1alpha1.ClusterRoleBinding, None, bootstrap.ADMIN_BINDING)
    assert binding.spec.role == "global-admin"


async def test_scopes_narrow_what_a_token_may_do(store: SqlStore, tmp_path: Path) -> None:
    admin = await admin_token(store, tmp_path)
    async with http(store, admin) as api:
        made = await api.post("/auth/v1/tokens", json={"scopes": ["read"], "ttlHours": 1})
        assert made.status_code == 201, made.text
        reader = made.json()["token"]
        assert made.json()["scopes"] == ["read"]
        listed = await api.get("/auth/v1/tokens")
        assert reader not in listed.text and "secret_hash" not in listed.text
    async with http(store, reader) as api:
        assert (await api.get(f"{P}/namespaces")).status_code == 200
        refused = await api.post(f"{P}/namespaces", json={"metadata": {"name": "x"}})
        assert refused.status_code == 403
        assert 'lacks the "write" scope' in refused.json()["message"]
        escalate = await api.post("/auth/v1/tokens", json={"scopes": ["read", "write"]})
        assert escalate.status_code == 403
        who = (await api.get("/auth/v1/whoami")).json()
        assert who["user"] == "admin" and who["scopes"] == ["read"]
        assert who["roles"]["global"] == ["global-admin"]


async def test_revocation_and_disabling_take_effect_at_once(
    store: SqlStore, tmp_path: Path
) -> None:
    admin = await admin_token(store, tmp_path)
    await store.create(v1alpha1.User(metadata=v1alpha1.ObjectMeta(name="carol")))
    tokens = TokenStore(store)
    info, carol = await tokens.issue("carol", ttl=timedelta(hours=1))
    async with http(store, carol) as api:
        assert (await api.get("/auth/v1/whoami")).status_code == 200
        async with http(store, admin) as root:
            revoked = await root.delete(f"/auth/v1/tokens/{info.id}")
            assert revoked.json()["state"] == "revoked"
        gone = await api.get("/auth/v1/whoami")
        assert gone.status_code == 401 and "revoked" in gone.json()["message"]
        assert gone.headers["WWW-Authenticate"].startswith("Bearer")
    _, second = await tokens.issue("carol")
    user = await store.get(v1alpha1.User, None, "carol")
    user.spec.disabled = True
    await store.update(user)
    async with http(store, second) as api:
        disabled = await api.get("/auth/v1/whoami")
        assert disabled.status_code == 401 and "disabled" in disabled.json()["message"]


async def test_malformed_credentials_are_401_with_a_reason(store: SqlStore) -> None:
    async with http(store, None) as api:
        missing = await api.get(f"{P}/namespaces")
        assert missing.status_code == 401 and "authentication required" in missing.text
        basic = await api.get(f"{P}/namespaces", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        assert basic.status_code == 401 and "Bearer" in basic.json()["message"]
        foreign = await api.get(f"{P}/namespaces", headers={"Authorization": "Bearer abc"})
        assert foreign.status_code == 401 and "not an Orbit token" in foreign.json()["message"]
        # Bad parameters are not even looked at before the caller is known.
        probe = await api.get(f"{P}/namespaces", params={"limit": "-5"})
        assert probe.status_code == 401
