"""Every route x every role, against the permissions table in docs/security.md.

The oracle is the documentation, not the code: the test parses the table between the
``permissions-table`` markers, maps each route of the real app (every APIRoute, every method)
to one of its rows by its path, and asks the server as each identity. Authorization runs before
the request is read or the object looked up, so each route is called on an object that does
not exist with an empty body: an allowed request then answers 404/422/200 (anything but 401
and 403), a refused one 403 naming the missing permission, and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.security.tokens import TokenStore
from orbit.server import create_app
from orbit.store.sql import SqlStore
from tests.conftest import admin_token

DOC = Path(__file__).parents[2] / "docs" / "security.md"
PREFIX = f"/apis/{v1alpha1.API_VERSION}"
NS = "team-a"
COLUMNS = (
    "global-admin",
    "global-viewer",
    "namespace-admin",
    "namespace-editor",
    "namespace-viewer",
    "other ns",
    "no role",
)
WORKLOADS = {"clusterdeployments", "multiclusterservices"}
NAMESPACED = {cls.PLURAL for cls in v1alpha1.KINDS if cls.NAMESPACED}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def documented_table() -> dict[str, dict[str, bool]]:
    """row key -> column -> allowed, from docs/security.md."""
    text = DOC.read_text()
    start = text.index("<!-- permissions-table: begin -->")
    end = text.index("<!-- permissions-table: end -->")
    lines = [ln for ln in text[start:end].splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert tuple(header[2:]) == COLUMNS, header
    table: dict[str, dict[str, bool]] = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        key = cells[0].strip("`")
        assert all(c in ("yes", "no") for c in cells[2:]), line
        table[key] = {col: cell == "yes" for col, cell in zip(COLUMNS, cells[2:], strict=True)}
    return table


def row_for(path: str, method: str) -> str:
    """The table row a concrete request belongs to (the test's reading of the docs)."""
    if path.startswith("/hooks/v1/"):
        return "signed"
    if path in ("/healthz", "/readyz") or path.startswith(("/auth/v1/oidc", "/auth/v1/session")):
        return "public"
    if path == PREFIX or path in ("/auth/v1/whoami", "/auth/v1/rules"):
        return "self"
    if path.startswith("/auth/v1/tokens"):
        return "self"
    if path.startswith("/audit/"):
        return "audit:read"
    if path.startswith("/admin/"):
        return "admin:write"
    write = method in WRITE_METHODS
    if path.startswith("/clusters/"):
        return "proxy:write" if write else "proxy:read"
    if path.endswith("/kubeconfig"):
        return "kubeconfig:get"
    if path.endswith("/status"):
        return "status:write" if write else "status:read"
    parts = path[len(PREFIX) :].strip("/").split("/")
    if parts[0] == "namespaces" and len(parts) >= 3:
        plural = parts[2]
        if not write:
            return "namespaced:read"
        if plural == "servicesets":
            return "generated:write"
        return "workloads:write" if plural in WORKLOADS else "namespaced:write"
    if parts[0] == "namespaces" and len(parts) == 2 and parts[1] == NS and not write:
        return "namespace:get"
    if parts[0] in NAMESPACED and len(parts) == 1:
        return "all-namespaces:read"
    return "cluster:write" if write else "cluster:read"


def concrete_requests(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) for every operation of the OpenAPI document (every route the server
    serves; none is hidden from it), path parameters filled in."""
    out: list[tuple[str, str]] = []
    for template, operations in app.openapi()["paths"].items():
        for method in sorted(m.upper() for m in operations if m != "parameters"):
            path = template.replace("{namespace}", NS).replace("{name}", "nope")
            path = re.sub(r"\{path(:path)?\}", "api/v1/nodes", path)
            path = re.sub(r"\{[a-z_]+\}", "nope", path)
            out.append((method, path))
            if path == f"{PREFIX}/namespaces/nope" and method == "GET":
                out.append((method, f"{PREFIX}/namespaces/{NS}"))
    return out


@dataclass
class Caller:
    column: str
    token: str | None


async def user(store: SqlStore, tokens: TokenStore, name: str, **issue: object) -> str:
    await store.create(v1alpha1.User(metadata=v1alpha1.ObjectMeta(name=name)))
    return (await tokens.issue(name, **issue))[1]  # type: ignore[arg-type]


async def bind(store: SqlStore, role: str, user_name: str, namespace: str | None) -> None:
    subjects = [v1alpha1.Subject(kind="User", name=user_name)]
    meta = v1alpha1.ObjectMeta(name=f"{user_name}-{role}", namespace=namespace)
    if namespace is None:
        await store.create(
            v1alpha1.ClusterRoleBinding(
                metadata=meta,
                spec=v1alpha1.ClusterRoleBindingSpec(role=role, subjects=subjects),  # type: ignore[arg-type]
            )
        )
    else:
        await store.create(
            v1alpha1.RoleBinding(
                metadata=meta,
                spec=v1alpha1.RoleBindingSpec(role=role, subjects=subjects),  # type: ignore[arg-type]
            )
        )


@pytest.fixture
async def world(store: SqlStore, tmp_path: Path) -> tuple[FastAPI, list[Caller], list[Caller]]:
    """The app, the callers of each column, and the callers with no valid identity."""
    app = create_app(store=store, admission=Admission(store, providers=("sim",)))
    for ns in (NS, "team-b"):
        await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=ns)))
    tokens = TokenStore(store)
    callers = [Caller("global-admin", await admin_token(store, tmp_path))]
    for column, role, namespace in (
        ("global-viewer", "global-viewer", None),
        ("namespace-admin", "namespace-admin", NS),
        ("namespace-editor", "namespace-editor", NS),
        ("namespace-viewer", "namespace-viewer", NS),
        ("other ns", "namespace-admin", "team-b"),
    ):
        name = column.replace(" ", "-")
        token = await user(store, tokens, name)
        await bind(store, role, name, namespace)
        callers.append(Caller(column, token))
    callers.append(Caller("no role", await user(store, tokens, "nobody")))
    expired = await user(store, tokens, "late", ttl=timedelta(seconds=-1))
    revoked_info, revoked = await tokens.issue("nobody")
    await tokens.revoke(revoked_info.id)
    invalid = [Caller("no token", None), Caller("expired", expired), Caller("revoked", revoked)]
    return app, callers, invalid


async def ask(app: FastAPI, caller: Caller, method: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {caller.token}"} if caller.token else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://orbit.test") as http:
        body = b"{}" if method in WRITE_METHODS else None
        return await http.request(
            method,
            path,
            headers={**headers, "Content-Type": "application/json"},
            content=body,
            follow_redirects=False,
        )


async def test_every_route_and_role_matches_the_documented_table(
    world: tuple[FastAPI, list[Caller], list[Caller]],
) -> None:
    app, callers, invalid = world
    table = documented_table()
    requests = concrete_requests(app)
    assert len(requests) > 100  # every kind's verbs, status, tokens, audit, proxy...
    mismatches: list[str] = []
    rows_seen: set[str] = set()
    for method, path in requests:
        row = row_for(path, method)
        assert row in table, f"{method} {path} maps to {row!r}, which docs/security.md lacks"
        rows_seen.add(row)
        for caller in callers:
            response = await ask(app, caller, method, path)
            allowed = response.status_code not in (401, 403)
            if allowed != table[row][caller.column]:
                mismatches.append(
                    f"{caller.column:17} {method:6} {path} [{row}]: {response.status_code} "
                    f"{response.text[:160]}"
                )
            elif not allowed and row == "signed":  # no token grants it: only a signature does
                assert response.status_code == 401, (caller.column, method, path, response.text)
                assert "does not verify" in response.json()["message"], response.text
            elif not allowed:
                assert response.status_code == 403, (caller.column, method, path, response.text)
                assert "missing permission" in response.json()["message"], response.text
        for caller in invalid:
            response = await ask(app, caller, method, path)
            expected = row == "public"
            if (response.status_code != 401) == expected:
                continue
            mismatches.append(f"{caller.column:17} {method:6} {path}: {response.status_code}")
    assert not mismatches, "\n".join(mismatches)
    # Every documented row but the admin-only token management is exercised by some route.
    assert set(table) - rows_seen <= {"tokens:others"}, set(table) - rows_seen


async def test_watch_is_authorized_like_list(
    world: tuple[FastAPI, list[Caller], list[Caller]],
) -> None:
    app, callers, invalid = world
    table = documented_table()
    path = f"{PREFIX}/namespaces/{NS}/clusterdeployments?watch=true&timeoutSeconds=1"
    for caller in callers:
        response = await ask(app, caller, "GET", path)
        assert (response.status_code == 200) == table["namespaced:read"][caller.column], (
            caller.column,
            response.text,
        )
        if response.status_code == 403:
            assert "clusterdeployments:watch" in response.json()["message"]
    for caller in invalid:
        assert (await ask(app, caller, "GET", path)).status_code == 401


async def test_other_users_tokens_need_global_admin(
    world: tuple[FastAPI, list[Caller], list[Caller]],
) -> None:
    app, callers, _ = world
    allowed = documented_table()["tokens:others"]
    for caller in callers:
        headers = {"Authorization": f"Bearer {caller.token}"}
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://orbit.test") as http:
            listed = await http.get("/auth/v1/tokens", params={"all": "true"}, headers=headers)
            issued = await http.post("/auth/v1/tokens", json={"user": "late"}, headers=headers)
        expected = allowed[caller.column]
        assert (listed.status_code == 200) == expected, (caller.column, listed.text)
        assert (issued.status_code == 201) == expected, (caller.column, issued.text)
        if not expected:
            assert listed.status_code == issued.status_code == 403
