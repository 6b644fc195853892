"""The audit recorder and ``/audit/v1``: every mutating call leaves one record (who, what,
verb, outcome, message), reads leave none, a failed audit write does not fail the request, and
the routes list, filter, page and verify the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from orbit.api import v1alpha1
from orbit.security import audit
from orbit.security.audit import AuditLog
from orbit.security.tokens import TokenStore
from orbit.server import audit as recorder
from orbit.store import SqlStore

from .helpers import NS, P, credential, ns_path

CRED = ns_path("credentials", "cred")


def log_of(app: FastAPI) -> AuditLog:
    found: AuditLog = app.state.audit
    return found


async def records(client: httpx.AsyncClient, **params: object) -> list[dict[str, object]]:
    response = await client.get("/audit/v1/records", params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def token_for(store: SqlStore, user: str, *, role: str | None = None) -> str:
    await store.create(v1alpha1.User(metadata=v1alpha1.ObjectMeta(name=user)))
    if role is not None:
        binding = v1alpha1.ClusterRoleBinding(
            metadata=v1alpha1.ObjectMeta(name=f"{user}-{role}"),
            spec=v1alpha1.ClusterRoleBindingSpec(
                role=role, subjects=[v1alpha1.Subject(kind="User", name=user)]
            ),
        )
        await store.create(binding)
    _, token = await TokenStore(store).issue(user)
    return token


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", f"{P}/namespaces",
         recorder.Target("namespaces", collection=True, create_name=True)),
        ("DELETE", f"{P}/namespaces/team-a", recorder.Target("namespaces", name="team-a")),
        ("POST", ns_path("credentials"),
         recorder.Target("credentials", NS, collection=True, create_name=True)),
        ("PUT", ns_path("credentials", "c"), recorder.Target("credentials", NS, "c")),
        ("PATCH", ns_path("credentials", "c") + "/status",
         recorder.Target("credentials/status", NS, "c")),
        ("POST", f"{P}/users", recorder.Target("users", collection=True, create_name=True)),
        ("PUT", f"{P}/users/bob", recorder.Target("users", name="bob")),
        ("POST", "/auth/v1/tokens", recorder.Target("tokens", collection=True)),
        ("DELETE", "/auth/v1/tokens/abc", recorder.Target("tokens", name="abc")),
        ("POST", "/admin/v1/rotate-key", recorder.Target("rotate-key", collection=True)),
        ("POST", "/auth/login", recorder.Target("login", collection=True)),
        ("POST", "/clusters/team-a/dev/proxy/api/v1/namespaces/x/pods",
         recorder.Target("clusterdeployments/proxy", "team-a", "dev")),
        ("DELETE", "/clusters/team-a/dev/proxy/api/v1/nodes/n1",
         recorder.Target("clusterdeployments/proxy", "team-a", "dev")),
        ("POST", P, recorder.Target("")),
        ("GET", ns_path("credentials"), None),
        ("GET", "/clusters/team-a/dev/proxy/api/v1/nodes", None),
        ("POST", "/clusters/team-a/dev/kubeconfig", None),
        ("POST", "/simplane/v1/clusters", None),
        ("POST", "/audit/v1/records", None),
        ("HEAD", f"{P}/namespaces", None),
    ],
)  # fmt: skip
def test_target(method: str, path: str, expected: recorder.Target | None) -> None:
    assert recorder.target(method, path) == expected


async def test_writes_are_recorded_and_reads_are_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await client.post(ns_path("credentials"), json=credential())).status_code == 201
    assert (await client.get(CRED)).status_code == 200
    assert (await client.get(ns_path("credentials"))).status_code == 200
    patched = await client.patch(
        CRED,
        json={"metadata": {"labels": {"a": "b"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200
    assert (await client.delete(CRED)).status_code == 200

    found = await records(client, afterSeq=0)
    assert [(r["verb"], r["resource"], r["namespace"], r["name"]) for r in found] == [
        ("create", "namespaces", "", NS),  # the client fixture's
        ("create", "credentials", NS, "cred"),
        ("patch", "credentials", NS, "cred"),
        ("delete", "credentials", NS, "cred"),
    ]
    create = found[1]
    assert create["actor"] == "admin"
    assert create["code"] == 201
    assert create["outcome"] == "success"
    assert create["message"] == ""
    assert create["path"] == ns_path("credentials")
    assert create["source"] == "127.0.0.1"
    assert app.state.audit_stats.recorded == 4


async def test_dry_runs_are_not_recorded(client: httpx.AsyncClient) -> None:
    """A dry run changes nothing, so it leaves no record; the real writes after it do."""
    before = len(await records(client, afterSeq=0))
    dry = await client.post(ns_path("credentials") + "?dryRun=All", json=credential())
    assert dry.status_code == 201
    patch = await client.patch(
        CRED + "?dryRun=All",
        json={"metadata": {"labels": {"a": "b"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patch.status_code == 404  # the dry-run create stored nothing
    assert len(await records(client, afterSeq=0)) == before

    assert (await client.post(ns_path("credentials"), json=credential())).status_code == 201
    assert (await client.delete(CRED + "?dryRun=All")).status_code == 200
    assert (await client.get(CRED)).status_code == 200  # the dry-run delete kept it
    assert len(await records(client, afterSeq=0)) == before + 1
    assert (await client.delete(CRED)).status_code == 200
    found = await records(client, afterSeq=0)
    assert [(r["verb"], r["name"]) for r in found[before:]] == [
        ("create", "cred"),
        ("delete", "cred"),
    ]


async def test_refusals_are_recorded_with_their_message(client: httpx.AsyncClient) -> None:
    await client.post(ns_path("credentials"), json=credential())
    taken = await client.post(ns_path("credentials"), json=credential())
    assert taken.status_code == 409
    invalid = await client.post(ns_path("credentials"), json={"metadata": {"name": "x"}})
    assert invalid.status_code == 422
    missing = await client.delete(ns_path("credentials", "nope") + "?token=secret")
    assert missing.status_code == 404

    failed = await records(client, outcome="failed", afterSeq=0)
    assert [(r["code"], r["name"]) for r in failed] == [(409, "cred"), (422, "x"), (404, "nope")]
    assert failed[0]["message"] == taken.json()["message"]
    assert failed[1]["message"] == invalid.json()["message"]
    # The query string is never recorded.
    assert failed[2]["path"] == ns_path("credentials", "nope")


async def test_denied_requests_are_recorded(
    client: httpx.AsyncClient, store: SqlStore, app: FastAPI
) -> None:
    anonymous = await client.post(
        ns_path("credentials"), json=credential(), headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    viewer = await token_for(store, "vera", role="global-viewer")
    refused = await client.post(
        ns_path("credentials"),
        json=credential(),
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert refused.status_code == 403

    denied = await records(client, outcome="denied", afterSeq=0)
    assert [(r["actor"], r["code"], r["verb"]) for r in denied] == [
        ("anonymous", 401, "create"),
        ("vera", 403, "create"),
    ]
    assert denied[1]["message"] == refused.json()["message"]


async def test_token_secrets_never_reach_the_audit_log(client: httpx.AsyncClient) -> None:
    created = await client.post("/auth/v1/tokens", json={"description": "ci"})
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    revoked = await client.delete(f"/auth/v1/tokens/{created.json()['id']}")
    assert revoked.status_code == 200
    found = await records(client, resource="tokens", afterSeq=0)
    assert [(r["verb"], r["name"], r["outcome"]) for r in found] == [
        ("create", "", "success"),
        ("delete", created.json()["id"], "success"),
    ]
    everything = (await client.get("/audit/v1/records", params={"limit": 1000})).text
    assert secret not in everything
    assert secret.rsplit("_", 1)[-1] not in everything


class BrokenLog:
    async def record(self, entry: audit.AuditEntry) -> audit.AuditRecord:
        raise RuntimeError("disk on fire")


async def test_a_failed_audit_write_does_not_fail_the_request(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    good = app.state.audit
    app.state.audit = BrokenLog()
    with caplog.at_level(logging.ERROR, logger="orbit.server.audit"):
        created = await client.post(ns_path("credentials"), json=credential())
    assert created.status_code == 201
    assert app.state.audit_stats.failures == 1
    assert "Writing an audit record failed" in caplog.text
    assert "create credentials default/cred by admin" in caplog.text
    app.state.audit = good


async def test_an_unexpected_error_is_recorded_as_failed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.post("/apis/test.example/v1/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail")

    response = await client.post("/apis/test.example/v1/boom")
    assert response.status_code == 500
    [record] = await records(client, resource="boom")
    assert (record["code"], record["outcome"]) == (500, "failed")
    assert "internal detail" not in str(record["message"])


async def test_records_route_filters_and_pages(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await client.post(ns_path("credentials"), json=credential(f"c{n}"))
    newest = await records(client, resource="credentials", limit=2)
    assert [r["name"] for r in newest] == ["c4", "c3"]
    older = await records(client, resource="credentials", beforeSeq=newest[-1]["seq"], limit=2)
    assert [r["name"] for r in older] == ["c2", "c1"]
    forward = await records(client, afterSeq=older[-1]["seq"], limit=2)
    assert [r["name"] for r in forward] == ["c2", "c3"]
    assert await records(client, actor="nobody") == []
    assert len(await records(client, since="2000-01-01T00:00:00Z")) == 6
    assert await records(client, until="2000-01-01T00:00:00Z") == []
    for bad in ({"limit": 1001}, {"limit": 0}, {"outcome": "maybe"}, {"since": "yesterday"}):
        response = await client.get("/audit/v1/records", params=bad)
        assert response.status_code == 422, (bad, response.text)


async def test_verify_route(app: FastAPI, client: httpx.AsyncClient, store: SqlStore) -> None:
    for n in range(3):
        await client.post(ns_path("credentials"), json=credential(f"c{n}"))
    report = (await client.get("/audit/v1/verify")).json()
    assert report["kind"] == "AuditVerifyReport"
    assert report["intact"] is True
    assert report["records"] == 4
    head = report["head"]
    anchored = await client.get(
        "/audit/v1/verify", params={"anchor": f"{head['seq']}:{head['hash']}"}
    )
    assert anchored.json()["intact"] is True
    bad = await client.get("/audit/v1/verify", params={"anchor": "3:xyz"})
    assert bad.status_code == 400
    assert "SEQ:HASH" in bad.json()["message"]

    async with store.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    broken = (await client.get("/audit/v1/verify")).json()
    assert broken["intact"] is False
    assert broken["broken"]["seq"] == 2
    assert broken["broken"]["problem"] == "changed"


@pytest.mark.parametrize("path", ["/audit/v1/records", "/audit/v1/verify"])
async def test_only_global_roles_read_the_log(
    client: httpx.AsyncClient, store: SqlStore, path: str
) -> None:
    viewer = await token_for(store, "vera", role="global-viewer")
    nobody = await token_for(store, "nick")
    as_viewer = await client.get(path, headers={"Authorization": f"Bearer {viewer}"})
    assert as_viewer.status_code == 200, as_viewer.text
    as_nobody = await client.get(path, headers={"Authorization": f"Bearer {nobody}"})
    assert as_nobody.status_code == 403
    assert "audit" in as_nobody.json()["message"]
    anonymous = await client.get(path, headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_audit_routes_are_read_only(client: httpx.AsyncClient) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/audit/v1/records")
        assert response.status_code == 405


# -- a bare app: the AccessPoint's paths and streamed responses ----------------------------


@pytest.fixture
async def bare(store: SqlStore) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A tiny app with only the recorder, a fake identity and a fake AccessPoint route."""
    app = FastAPI()
    app.state.audit = AuditLog(store.engine)
    recorder.install(app)

    @app.api_route("/clusters/{namespace}/{name}/proxy/{rest:path}",
                   methods=["GET", "POST", "DELETE"], response_model=None)  # fmt: skip
    async def proxy(request: Request, rest: str) -> StreamingResponse | JSONResponse:
        request.state.identity = type("Who", (), {"user": request.headers.get("x-user", "")})()
        if request.method == "DELETE" and rest.endswith("/locked"):
            body = {"kind": "Status", "message": 'pods "locked" is forbidden', "code": 403}
            return JSONResponse(body, status_code=403)

        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f'{{"chunk":{n}}}\n'.encode()

        return StreamingResponse(chunks(), media_type="application/json")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://orbit.test") as http:
        yield app, http


async def test_proxy_writes_are_recorded(bare: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, http = bare
    base = "/clusters/team-a/dev/proxy/api/v1/namespaces/x/pods"
    read = await http.get(base, headers={"x-user": "ed"})
    written = await http.post(base, headers={"x-user": "ed"})
    assert written.text == '{"chunk":0}\n{"chunk":1}\n{"chunk":2}\n'  # streamed through intact
    refused = await http.delete(f"{base}/locked", headers={"x-user": "vic"})
    assert (read.status_code, written.status_code, refused.status_code) == (200, 200, 403)

    found = await log_of(app).list(after_seq=0)
    assert [(r.actor, r.verb, r.resource, r.namespace, r.name, r.outcome) for r in found] == [
        ("ed", "create", "clusterdeployments/proxy", "team-a", "dev", "success"),
        ("vic", "delete", "clusterdeployments/proxy", "team-a", "dev", "denied"),
    ]
    assert found[0].path == base
    assert found[1].message == 'pods "locked" is forbidden'


async def test_without_an_audit_log_requests_still_pass(
    bare: tuple[FastAPI, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    app, http = bare
    app.state.audit = None
    with caplog.at_level(logging.WARNING, logger="orbit.server.audit"):
        for _ in range(2):
            assert (await http.post("/clusters/a/b/proxy/x")).status_code == 200
    assert app.state.audit_stats.unconfigured == 2
    assert caplog.text.count("No audit log is configured") == 1
