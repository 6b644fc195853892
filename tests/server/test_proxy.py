"""The AccessPoint (``/clusters/{ns}/{name}/proxy/...``) over real pieces, in the test's loop.

Orbit's app (real store, both backends) is served over HTTPS by the AccessPoint's own listener;
a simulated plane serves the cluster's Kubernetes API over HTTPS on another port, reached
through the ``sim`` provider as in ``orbit up``. Callers are real users with real tokens and
RoleBindings, made through the API as the admin. The real kubectl runs against the kubeconfig
the API hands out. An echo server stands in for a cluster where the test must see exactly what
reaches the cluster (headers, path, query) or make the cluster refuse Orbit's credential.

``orbit up`` itself, with the CLI, is in tests/e2e/test_accesspoint.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import Response

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers.base import ClusterRef, Deletion, DesiredCluster, Observation
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.server import create_app
from orbit.server.accesspoint import AccessPoint, verbs
from orbit.server.accesspoint.relay import request_headers, response_headers
from orbit.server.accesspoint.serving import https_listener
from orbit.server.accesspoint.upstreams import Upstreams, parse_kubeconfig
from orbit.simplane import SimClusterSpec, SimPlane, SimPlaneSettings, certs
from orbit.simplane.api import create_router
from orbit.store.sql import SqlStore

from ..conftest import admin_token

P = "/apis/orbit.k8or.io/v1alpha1"
NS = "team-a"
CLUSTER = "dev"
KUBECTL = "/usr/bin/kubectl"
PROXY = f"/clusters/{NS}/{CLUSTER}/proxy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve_https(
    stack: AsyncExitStack, app: FastAPI, cert: Path, key: Path
) -> tuple[str, int]:
    port = free_port()
    await stack.enter_async_context(
        https_listener(app, host="127.0.0.1", port=port, cert=cert, key=key)
    )
    return f"https://127.0.0.1:{port}", port


@dataclass
class Echo:
    """A stand-in cluster API that answers with what it received."""

    token: str = "cluster-token-1"
    seen: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def echo(path: str, request: Request) -> Response:
            record = {
                "method": request.method,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.scope["query_string"].decode(),
                "headers": [(k.decode(), v.decode()) for k, v in request.headers.raw],
                "body": (await request.body()).decode("latin-1"),
            }
            self.seen.append(record)
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return Response(b'{"kind":"Status","code":401}', 401, media_type="application/json")
            if path.endswith("binary"):
                reply = Response(
                    bytes(range(256)), 203, media_type="application/vnd.kubernetes.protobuf"
                )
                reply.raw_headers += [(b"warning", b'299 - "one"'), (b"warning", b'299 - "two"')]
                return reply
            return Response(json.dumps(record), media_type="application/json")

        return app


class EchoProvider:
    """Provider ``echo``: every cluster's kubeconfig points at the Echo server."""

    name = "echo"

    def __init__(self, server: str, ca_pem: str, token: str) -> None:
        self.server, self.ca_pem, self.token = server, ca_pem, token
        self.fetches = 0

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation:
        raise NotImplementedError

    async def delete_cluster(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Deletion:
        raise NotImplementedError

    async def observe(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Observation | None:
        return None

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        self.fetches += 1
        ca = base64.b64encode(self.ca_pem.encode()).decode()
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "c",
                    "cluster": {"server": f"{self.server}/base", "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": "u", "user": {"token": self.token}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
        return yaml.safe_dump(doc).encode()


@dataclass
class World:
    """Orbit (HTTPS), the simulated plane, and the cluster ``team-a/dev`` on it."""

    url: str
    ca_pem: str
    tmp: Path
    admin: str
    sim: SimPlane
    uid: str
    app: FastAPI
    echo: Echo
    echo_provider: EchoProvider
    ctx: ssl.SSLContext

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            base_url=self.url, verify=self.ctx, headers=headers, timeout=30, **kwargs
        )

    async def admin_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.client(self.admin) as http:
            response = await http.post(path, json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def user(
        self, name: str, role: str | None, *, namespace: str = NS, scopes: list[str] | None = None
    ) -> str:
        """A User bound to ``role`` in ``namespace``; returns a new token of theirs."""
        async with self.client(self.admin) as http:
            found = await http.get(f"{P}/users/{name}")
        if found.status_code == 404:
            await self.admin_post(f"{P}/users", {"metadata": {"name": name}})
        if role is not None:
            await self.admin_post(
                f"{P}/namespaces/{namespace}/rolebindings",
                {
                    "metadata": {"name": f"{name}-{role}"},
                    "spec": {"role": role, "subjects": [{"kind": "User", "name": name}]},
                },
            )
        body: dict[str, Any] = {"user": name}
        if scopes is not None:
            body["scopes"] = scopes
        token = await self.admin_post("/auth/v1/tokens", body)
        return str(token["token"])

    async def kubeconfig(self, token: str, *, cluster: str = CLUSTER) -> Path:
        async with self.client(token) as http:
            response = await http.get(
                f"{P}/namespaces/{NS}/clusterdeployments/{cluster}/kubeconfig"
            )
        assert response.status_code == 200, response.text
        path = self.tmp / f"kubeconfig-{token[-8:]}"
        path.write_text(response.text)
        return path

    async def kubectl(self, token: str, *args: str) -> subprocess.CompletedProcess[str]:
        config = await self.kubeconfig(token)
        env = {"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(self.tmp)}
        proc = await asyncio.create_subprocess_exec(
            KUBECTL,
            "--kubeconfig",
            str(config),
            "--cache-dir",
            str(self.tmp / f"kube-cache-{token[-8:]}"),
            *args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
        return subprocess.CompletedProcess(
            list(args), proc.returncode or 0, out.decode(), err.decode()
        )


@pytest.fixture
async def world(store: SqlStore, tmp_path: Path) -> AsyncIterator[World]:
    cert, key, pem = certs.ensure_certificate(tmp_path / "tls", common_name="orbit-test")
    ctx = ssl.create_default_context(cadata=pem)
    async with AsyncExitStack() as stack:
        sim_port = free_port()
        sim = await SimPlane.open(
            SimPlaneSettings(
                database_url=str(tmp_path / "sim.db"),
                node_latency=0,
                pod_latency=0,
                endpoint_base=f"https://127.0.0.1:{sim_port}/simplane/v1/clusters",
                endpoint_ca=pem,
            )
        )
        stack.push_async_callback(sim.close)
        sim_app = FastAPI()
        sim_app.include_router(create_router(sim))
        await stack.enter_async_context(
            https_listener(sim_app, host="127.0.0.1", port=sim_port, cert=cert, key=key)
        )
        echo = Echo()
        echo_url, _ = await serve_https(stack, echo.app(), cert, key)

        app = create_app(store=store)
        providers = ProviderRegistry()
        providers.register(SimProvider(sim))
        echo_provider = EchoProvider(echo_url, pem, echo.token)
        providers.register(echo_provider)
        app.state.providers = providers
        url, _ = await serve_https(stack, app, cert, key)
        access = AccessPoint(upstreams=Upstreams(timeout=10), url=url, ca_pem=pem)
        app.state.access_point = access
        stack.push_async_callback(access.close)

        world = World(
            url=url,
            ca_pem=pem,
            tmp=tmp_path,
            admin=await admin_token(store, tmp_path),
            sim=sim,
            uid="",
            app=app,
            echo=echo,
            echo_provider=echo_provider,
            ctx=ctx,
        )
        for ns in (NS, "team-b"):
            await world.admin_post(f"{P}/namespaces", {"metadata": {"name": ns}})
        for name, provider in (("cred", "sim"), ("echo", "echo")):
            await world.admin_post(
                f"{P}/namespaces/{NS}/credentials",
                {"metadata": {"name": name}, "spec": {"provider": provider}},
            )
        for name, credential in ((CLUSTER, "cred"), ("echo", "echo"), ("later", "cred")):
            created = await world.admin_post(
                f"{P}/namespaces/{NS}/clusterdeployments",
                {"metadata": {"name": name}, "spec": {"template": "t", "credential": credential}},
            )
            if name == CLUSTER:
                world.uid = created["metadata"]["uid"]
        await sim.ensure_cluster(
            SimClusterSpec(
                uid=world.uid,
                namespace=NS,
                name=CLUSTER,
                kubernetes_version="v1.32.3+k3s1",
                worker_count=1,
            )
        )
        yield world


def assert_status(response: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert body["kind"] == "Status"
    assert body["reason"] == reason
    return body


# -- who may come in -------------------------------------------------------------------------


async def test_no_token_is_401(world: World) -> None:
    async with world.client() as http:
        response = await http.get(f"{PROXY}/api/v1/nodes")
    assert_status(response, 401, "Unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_bad_or_revoked_token_is_401(world: World) -> None:
    token = await world.user("vera", "namespace-viewer")
    async with world.client(token) as http:
        assert (await http.get(f"{PROXY}/api/v1/nodes")).status_code == 200
    async with world.client("orbit_nope_nothing") as http:
        assert_status(await http.get(f"{PROXY}/api/v1/nodes"), 401, "Unauthorized")
    token_id = token.split("_")[1]
    async with world.client(world.admin) as http:
        assert (await http.delete(f"/auth/v1/tokens/{token_id}")).status_code == 200
    async with world.client(token) as http:
        body = assert_status(await http.get(f"{PROXY}/api/v1/nodes"), 401, "Unauthorized")
    assert "revoked" in body["message"]


async def test_a_token_without_the_proxy_scope_is_403(world: World) -> None:
    token = await world.user("vera", "namespace-editor", scopes=["read", "write"])
    async with world.client(token) as http:
        body = assert_status(await http.get(f"{PROXY}/api/v1/nodes"), 403, "Forbidden")
    assert '"proxy" scope' in body["message"]
    assert "clusterdeployments/proxy:list" in body["message"]


async def test_viewer_reads_but_may_not_write(world: World) -> None:
    token = await world.user("vera", "namespace-viewer")
    async with world.client(token) as http:
        nodes = await http.get(f"{PROXY}/api/v1/nodes")
        assert nodes.status_code == 200, nodes.text
        assert {n["metadata"]["name"] for n in nodes.json()["items"]} >= {"dev-cp-0"}
        one = await http.get(f"{PROXY}/api/v1/namespaces/default")
        assert one.status_code == 200 and one.json()["metadata"]["name"] == "default"
        for method, path, verb in (
            ("POST", "/api/v1/namespaces/default/configmaps", "create"),
            ("PUT", "/api/v1/namespaces/default/configmaps/x", "update"),
            ("PATCH", "/api/v1/namespaces/default/configmaps/x", "patch"),
            ("DELETE", "/api/v1/namespaces/default/configmaps/x", "delete"),
            ("GET", "/api/v1/namespaces/default/pods/p/exec", "create"),
        ):
            refused = await http.request(method, f"{PROXY}{path}", json={})
            body = assert_status(refused, 403, "Forbidden")
            assert f'clusterdeployments/proxy:{verb} in namespace "{NS}"' in body["message"]
    # A viewer elsewhere may not even read.
    other = await world.user("otto", "namespace-viewer", namespace="team-b")
    async with world.client(other) as http:
        body = assert_status(await http.get(f"{PROXY}/api/v1/nodes"), 403, "Forbidden")
    assert "clusterdeployments/proxy:list" in body["message"]


async def test_editor_writes(world: World) -> None:
    token = await world.user("eddie", "namespace-editor")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1"}}
    path = f"{PROXY}/api/v1/namespaces/default/configmaps"
    async with world.client(token) as http:
        created = await http.post(path, json=cm)
        assert created.status_code == 201, created.text
        patched = await http.patch(
            f"{path}/x",
            content=json.dumps({"data": {"b": "2"}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200 and patched.json()["data"] == {"a": "1", "b": "2"}
        deleted = await http.delete(f"{path}/x")
        assert deleted.status_code == 200, deleted.text
        gone = await http.get(f"{path}/x")
    assert_status(gone, 404, "NotFound")  # the cluster's own Status passes through


# -- which cluster -----------------------------------------------------------------------------


async def test_unknown_and_unprovisioned_clusters(world: World) -> None:
    async with world.client(world.admin) as http:
        missing = await http.get(f"/clusters/{NS}/nope/proxy/api/v1/nodes")
        later = await http.get(f"/clusters/{NS}/later/proxy/api/v1/nodes")
    assert_status(missing, 404, "NotFound")
    body = assert_status(later, 503, "ServiceUnavailable")
    assert 'cluster "later" has no Kubernetes API yet' in body["message"]
    # Nothing about a cluster is told to someone who may not reach it.
    stranger = await world.user("otto", "namespace-viewer", namespace="team-b")
    async with world.client(stranger) as http:
        assert (await http.get(f"/clusters/{NS}/nope/proxy/api")).status_code == 403


# -- what passes -------------------------------------------------------------------------------


async def test_only_the_clusters_credential_reaches_the_cluster(world: World) -> None:
    path = f"/clusters/{NS}/echo/proxy/api/v1/namespaces/a%2Fb/configmaps"
    async with world.client(world.admin) as http:
        response = await http.get(
            f"{path}?labelSelector=app%3Dweb&limit=5",
            headers={
                "Impersonate-User": "system:admin",
                "Impersonate-Group": "system:masters",
                "X-Remote-User": "root",
                "Cookie": "orbit_token=secret",
                "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io",
                "Connection": "X-Drop-Me",
                "X-Drop-Me": "1",
                "User-Agent": "kubectl/v1.32",
            },
        )
    assert response.status_code == 200, response.text
    seen = response.json()
    names = {k.lower(): v for k, v in seen["headers"]}
    assert names["authorization"] == f"Bearer {world.echo.token}"  # never the caller's token
    assert world.admin not in json.dumps(seen)
    assert not {
        "impersonate-user",
        "impersonate-group",
        "x-remote-user",
        "cookie",
        "x-drop-me",
    } & set(names)
    assert names["accept"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
    assert names["user-agent"] == "kubectl/v1.32"
    assert seen["raw_path"] == "/base/api/v1/namespaces/a%2Fb/configmaps"
    assert seen["query"] == "labelSelector=app%3Dweb&limit=5"


async def test_status_content_type_and_bytes_pass_through(world: World) -> None:
    async with world.client(world.admin) as http:
        response = await http.get(f"/clusters/{NS}/echo/proxy/api/binary")
    assert response.status_code == 203
    assert response.headers["content-type"] == "application/vnd.kubernetes.protobuf"
    assert response.content == bytes(range(256))
    assert response.headers.get_list("warning") == ['299 - "one"', '299 - "two"']


async def test_a_refused_credential_is_reloaded_once_then_503(world: World) -> None:
    path = f"/clusters/{NS}/echo/proxy/api"
    async with world.client(world.admin) as http:
        assert (await http.get(path)).status_code == 200
        fetches = world.echo_provider.fetches
        # Rotated: the cluster refuses the cached client's token; the provider has the new one.
        world.echo.token = world.echo_provider.token = "cluster-token-2"
        assert (await http.get(path)).status_code == 200
        assert world.echo_provider.fetches == fetches + 1
        world.echo.token = "cluster-token-3"  # and the provider does not know it
        body = assert_status(await http.get(path), 503, "ServiceUnavailable")
        assert world.echo_provider.fetches == fetches + 2
    assert "refused Orbit's credential" in body["message"]


async def test_protobuf_and_table_answers_match_the_cluster(world: World) -> None:
    kubeconfig = parse_kubeconfig(await world.sim.kubeconfig(world.uid))
    direct = httpx.AsyncClient(verify=kubeconfig.ssl, headers=kubeconfig.headers, timeout=30)
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    async with direct, world.client(world.admin) as http:
        via = await http.get(f"{PROXY}/api/v1/namespaces/kube-system", headers=accept)
        straight = await direct.get(
            f"{kubeconfig.server}/api/v1/namespaces/kube-system", headers=accept
        )
    assert via.status_code == straight.status_code == 200
    assert via.headers["content-type"] == straight.headers["content-type"]
    assert via.json()["kind"] == "Table"
    # Byte for byte, except the Age cell, which the cluster computes at each answer.
    assert without_age(via.json()) == without_age(straight.json())


def without_age(table: dict[str, Any]) -> dict[str, Any]:
    """A Table with its Age column's cells blanked (they tick between two requests)."""
    names = [column["name"] for column in table["columnDefinitions"]]
    age = names.index("Age")
    rows = [{**row, "cells": row["cells"][:age] + row["cells"][age + 1 :]} for row in table["rows"]]
    return {**table, "rows": rows}


async def test_watch_streams_through_the_proxy(world: World) -> None:
    viewer = await world.user("vera", "namespace-viewer")
    editor = await world.user("eddie", "namespace-editor")
    path = f"{PROXY}/api/v1/namespaces/default/configmaps"
    async with (
        world.client(viewer) as watcher,
        world.client(editor) as writer,
        watcher.stream("GET", path, params={"watch": "true"}) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}}
        created = await writer.post(path, json=cm)
        assert created.status_code == 201, created.text
        async with asyncio.timeout(20):
            while True:
                event = json.loads(await anext(lines))
                if event["object"]["metadata"]["name"] == "w":
                    break
    assert event["type"] == "ADDED"


async def test_a_watch_ends_at_the_watch_timeout(world: World) -> None:
    access: AccessPoint = world.app.state.access_point
    access.watch_timeout = 0.5
    async with world.client(world.admin) as http:
        async with asyncio.timeout(15):
            response = await http.get(f"{PROXY}/api/v1/namespaces/default/configmaps?watch=1")
    assert response.status_code == 200


async def test_a_body_over_the_limit_is_413(world: World) -> None:
    access: AccessPoint = world.app.state.access_point
    access.max_body = 1000
    async with world.client(world.admin) as http:
        response = await http.post(
            f"{PROXY}/api/v1/namespaces/default/configmaps", content=b"x" * 2000
        )
    assert_status(response, 413, "RequestEntityTooLarge")


# -- the kubeconfig --------------------------------------------------------------------------


async def test_kubeconfig_points_at_the_proxy_with_the_callers_token(world: World) -> None:
    token = await world.user("vera", "namespace-viewer")
    path = await world.kubeconfig(token)
    text = path.read_text()
    doc = yaml.safe_load(text)
    (cluster,) = doc["clusters"]
    assert cluster["cluster"]["server"] == f"{world.url}{PROXY}"
    ca = base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode()
    assert ca == world.ca_pem
    (user,) = doc["users"]
    assert user["user"] == {"token": token}
    own = yaml.safe_load(await world.sim.kubeconfig(world.uid))
    cluster_token = own["users"][0]["user"]["token"]
    assert cluster_token not in text
    assert world.admin not in text


async def test_kubeconfig_needs_the_kubeconfig_permission(world: World) -> None:
    stranger = await world.user("otto", "namespace-viewer", namespace="team-b")
    async with world.client(stranger) as http:
        refused = await http.get(f"{P}/namespaces/{NS}/clusterdeployments/{CLUSTER}/kubeconfig")
        missing = await http.get(f"{P}/namespaces/team-b/clusterdeployments/nope/kubeconfig")
    body = assert_status(refused, 403, "Forbidden")
    assert "clusterdeployments/kubeconfig:get" in body["message"]
    assert_status(missing, 404, "NotFound")


# -- kubectl -----------------------------------------------------------------------------------


@pytest.fixture
def kubectl_binary() -> str:
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip(f"{KUBECTL} is not installed")
    return KUBECTL


@pytest.mark.usefixtures("kubectl_binary")
async def test_kubectl_as_viewer_and_editor(world: World) -> None:
    viewer = await world.user("vera", "namespace-viewer")
    editor = await world.user("eddie", "namespace-editor")
    made = await world.kubectl(editor, "create", "configmap", "doomed", "--from-literal=a=b")
    assert made.returncode == 0, made.stderr
    nodes = await world.kubectl(viewer, "get", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    assert "dev-cp-0" in nodes.stdout and "Ready" in nodes.stdout
    refused = await world.kubectl(viewer, "delete", "configmap", "doomed")
    assert refused.returncode != 0
    assert "Forbidden" in refused.stderr
    assert "clusterdeployments/proxy:delete" in refused.stderr
    deleted = await world.kubectl(editor, "delete", "configmap", "doomed")
    assert deleted.returncode == 0, deleted.stderr
    assert 'configmap "doomed" deleted' in deleted.stdout
    # Both attempts are in the audit log, attributed to the callers.
    async with world.client(world.admin) as http:
        listed = await http.get(
            "/audit/v1/records", params={"resource": "clusterdeployments/proxy", "verb": "delete"}
        )
    assert listed.status_code == 200, listed.text
    records = {r["actor"]: r for r in listed.json()["items"]}
    path = f"{PROXY}/api/v1/namespaces/default/configmaps/doomed"
    assert records["eddie"]["outcome"] == "success"
    assert records["vera"]["outcome"] == "denied"
    for record in records.values():
        assert (record["namespace"], record["name"], record["path"]) == (NS, CLUSTER, path)


# -- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "verb"),
    [
        ("GET", "api", {}, "get"),
        ("GET", "apis/apps/v1", {}, "get"),
        ("GET", "version", {}, "get"),
        ("GET", "api/v1/nodes", {}, "list"),
        ("GET", "api/v1/nodes", {"watch": "true"}, "watch"),
        ("GET", "api/v1/watch/namespaces/x/pods", {}, "watch"),
        ("GET", "api/v1/nodes/n1", {}, "get"),
        ("GET", "api/v1/namespaces", {}, "list"),
        ("GET", "api/v1/namespaces/x", {}, "get"),
        ("GET", "api/v1/namespaces/x/status", {}, "get"),
        ("GET", "api/v1/namespaces/x/pods", {"watch": "1"}, "watch"),
        ("GET", "api/v1/namespaces/x/pods/p/log", {"follow": "true"}, "get"),
        ("HEAD", "apis/apps/v1/namespaces/x/deployments/d", {}, "get"),
        ("GET", "api/v1/namespaces/x/pods/p/exec", {}, "create"),
        ("GET", "api/v1/namespaces/x/services/s/proxy", {}, "create"),
        ("GET", "api/v1/nodes/n/proxy", {}, "create"),
        ("POST", "api/v1/namespaces/x/pods", {}, "create"),
        ("PUT", "api/v1/namespaces/x/pods/p", {}, "update"),
        ("PATCH", "api/v1/namespaces/x/pods/p", {}, "patch"),
        ("DELETE", "api/v1/namespaces/x/pods", {}, "delete"),
    ],
)
def test_verbs(method: str, path: str, query: dict[str, str], verb: str) -> None:
    assert verbs.verb(method, path, query) == verb


def test_streams() -> None:
    assert verbs.is_stream("api/v1/pods", {"watch": "true"})
    assert verbs.is_stream("api/v1/watch/pods", {})
    assert verbs.is_stream("api/v1/namespaces/x/pods/p/log", {"follow": "true"})
    assert not verbs.is_stream("api/v1/pods", {})


def test_header_filters() -> None:
    sent = request_headers(
        [
            ("Authorization", "Bearer orbit_x_y"),
            ("Host", "orbit"),
            ("Impersonate-Extra-Scopes", "x"),
            ("Connection", "keep-alive, X-Hop"),
            ("X-Hop", "1"),
            ("Accept", "application/json"),
            ("Content-Type", "application/apply-patch+yaml"),
        ]
    )
    assert sent == [
        ("Accept", "application/json"),
        ("Content-Type", "application/apply-patch+yaml"),
    ]
    back = response_headers(
        [
            ("Content-Length", "5"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Type", "a/b"),
            ("Audit-Id", "1"),
            ("Set-Cookie", "x=y"),
        ]
    )
    assert back == [("Content-Type", "a/b"), ("Audit-Id", "1")]


def test_parse_kubeconfig_errors_never_show_values() -> None:
    secret = "super-secret-token"
    bad = f"token: {secret}\n  bad: [unclosed\n"
    with pytest.raises(errors.Unavailable) as caught:
        Upstreams()._build("uid", bad.encode())
    assert secret not in str(caught.value)
    assert "not YAML" in str(caught.value)
    with pytest.raises(ValueError, match="no context"):
        parse_kubeconfig(b"apiVersion: v1\nkind: Config\n")
