"""What the dashboard relies on: the session cookie and its CSRF guard, ``/auth/v1/rules``
(what may I do?) and ``dryRun=All`` (validation without a write, on every verb)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.security.tokens import TokenStore
from orbit.server import create_app
from orbit.store.sql import SqlStore
from tests.conftest import admin_token

from .helpers import P, credential

CSRF = {"X-Orbit-CSRF": "1"}


def browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://orbit.test")


async def test_session_cookie_signs_in_and_writes_need_the_csrf_header(
    store: SqlStore, tmp_path: Path
) -> None:
    token = await admin_token(store, tmp_path)
    async with browser(create_app(store=store)) as http:
        bad = await http.post("/auth/v1/session", json={"token": "orbit_x_y"})
        assert bad.status_code == 401 and "orbit_token" not in bad.headers.get("set-cookie", "")
        made = await http.post("/auth/v1/session", json={"token": token})
        assert made.status_code == 200 and made.json()["user"] == "admin"
        cookie = made.headers["set-cookie"]
        assert "orbit_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert token not in made.text  # the body never repeats the token

        who = (await http.get("/auth/v1/whoami")).json()
        assert who["user"] == "admin"
        assert who["catalogNamespace"] == "default"
        body = {"metadata": {"name": "team-a"}}
        forged = await http.post(f"{P}/namespaces", json=body)
        assert forged.status_code == 403 and "X-Orbit-CSRF" in forged.json()["message"]
        assert (await http.post(f"{P}/namespaces", json=body, headers=CSRF)).status_code == 201

        out = await http.delete("/auth/v1/session")
        assert out.status_code == 200
        assert (await http.get("/auth/v1/whoami")).status_code == 401


async def test_rules_say_what_the_caller_may_do(store: SqlStore, tmp_path: Path) -> None:
    admin = await admin_token(store, tmp_path)
    await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="team-a")))
    await store.create(v1alpha1.User(metadata=v1alpha1.ObjectMeta(name="vic")))
    await store.create(
        v1alpha1.RoleBinding(
            metadata=v1alpha1.ObjectMeta(name="vic", namespace="team-a"),
            spec=v1alpha1.RoleBindingSpec(
                role="namespace-viewer", subjects=[v1alpha1.Subject(kind="User", name="vic")]
            ),
        )
    )
    _, vic = await TokenStore(store).issue("vic")
    async with browser(create_app(store=store)) as http:
        viewer = (
            await http.get(
                "/auth/v1/rules",
                params={"namespace": "team-a"},
                headers={"Authorization": f"Bearer {vic}"},
            )
        ).json()
        assert viewer["rules"]["clusterdeployments"] == ["get", "list", "watch"]
        assert viewer["rules"]["clusterdeployments/proxy"] == ["get", "list", "watch"]
        assert viewer["rules"]["namespaces"] == ["get"]
        globally = (
            await http.get("/auth/v1/rules", headers={"Authorization": f"Bearer {vic}"})
        ).json()
        assert globally == {"namespace": None, "rules": {}}
        root = (
            await http.get("/auth/v1/rules", headers={"Authorization": f"Bearer {admin}"})
        ).json()["rules"]
        assert root["audit"] == ["create", "delete", "get", "list", "patch", "update", "watch"]
        assert root["*/clusterdeployments"] == ["get", "list", "watch"]


async def test_dry_run_validates_and_admits_but_stores_nothing(
    store: SqlStore, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {await admin_token(store, tmp_path)}"}
    app = create_app(store=store, admission=Admission(store, providers=("sim",)))
    await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="default")))
    async with browser(app) as http:
        path = f"{P}/namespaces/default/credentials"
        before = await store.revision()
        dry = {"dryRun": "All"}
        good = await http.post(path, params=dry, json=credential("c"), headers=headers)
        assert good.status_code == 201 and good.json()["metadata"]["name"] == "c"
        assert "uid" not in good.json()["metadata"]
        unknown_provider = {**credential("c"), "spec": {"provider": "nope"}}
        bad = await http.post(path, params=dry, json=unknown_provider, headers=headers)
        assert bad.status_code == 422, bad.text
        assert [c["field"] for c in bad.json()["details"]["causes"]] == ["spec.provider"]
        unknown = await http.post(
            path, params={"dryRun": "Some"}, json=credential("c"), headers=headers
        )
        assert unknown.status_code == 422
        assert await store.revision() == before
        assert (await store.list(v1alpha1.Credential, "default")).items == []

        await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="gone")))
        before = await store.revision()
        kept = await http.delete(f"{P}/namespaces/gone", params=dry, headers=headers)
        assert kept.status_code == 200 and kept.json()["metadata"]["name"] == "gone"
        missing = await http.delete(f"{path}/nope", params=dry, headers=headers)
        assert missing.status_code == 404
        assert await store.revision() == before
        gone = await store.get(v1alpha1.Namespace, None, "gone")
        assert gone.metadata.deletion_timestamp is None
