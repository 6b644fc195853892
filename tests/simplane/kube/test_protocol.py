"""The wire protocol over plain HTTP(S) requests: auth, discovery, Status errors, patch types,
selectors, watches, dry runs, finalizers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import yaml

from .conftest import Served

CM = "/api/v1/namespaces/default/configmaps"


class Api:
    """Requests to one cluster's Kubernetes API with its token."""

    def __init__(self, http: httpx.AsyncClient, uid: str, token: str) -> None:
        self.http, self.prefix = http, f"/{uid}/k8s"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return await self.http.request(method, self.prefix + path, headers=headers, **kw)

    async def create(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.request("POST", path, json=body)

    async def patch(self, path: str, body: Any, kind: str, **params: str) -> httpx.Response:
        data = body if isinstance(body, str) else json.dumps(body)
        headers = {"Content-Type": kind}
        return await self.request("PATCH", path, content=data, headers=headers, params=params)


@pytest.fixture
async def api(served: Served) -> AsyncIterator[Api]:
    await served.cluster()
    token = yaml.safe_load(await served.plane.kubeconfig("uid-1"))["users"][0]["user"]["token"]
    async with served.http() as http:
        yield Api(http, "uid-1", token)


def cm(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}}


def assert_status(response: httpx.Response, code: int, reason: str, message: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert (body["kind"], body["apiVersion"], body["status"]) == ("Status", "v1", "Failure")
    assert (body["code"], body["reason"], body["message"]) == (code, reason, message)
    return body


async def test_authentication_and_unknown_clusters(served: Served, api: Api) -> None:
    async with served.http() as http:
        anonymous = await http.get("/uid-1/k8s/api/v1/namespaces")
        assert_status(anonymous, 401, "Unauthorized", "Unauthorized")
        wrong = await http.get("/uid-1/k8s/version", headers={"Authorization": "Bearer nope"})
        assert_status(wrong, 401, "Unauthorized", "Unauthorized")
        unknown = await http.get("/nope/k8s/api", headers=api.headers)
        assert_status(unknown, 404, "NotFound", 'simulated cluster "nope" not found')
    version = (await api.request("GET", "/version")).json()
    assert (version["major"], version["minor"], version["gitVersion"]) == (
        "1",
        "32",
        "v1.32.3+k3s1",
    )


async def test_discovery_documents(api: Api) -> None:
    assert (await api.request("GET", "/api")).json()["versions"] == ["v1"]
    groups = {g["name"]: g for g in (await api.request("GET", "/apis")).json()["groups"]}
    assert groups["apps"]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    core = {r["name"]: r for r in (await api.request("GET", "/api/v1")).json()["resources"]}
    assert core["configmaps"]["shortNames"] == ["cm"]
    assert core["nodes"]["namespaced"] is False and "create" not in core["nodes"]["verbs"]
    assert core["pods/status"]["verbs"] == ["get", "patch", "update"]
    apps = (await api.request("GET", "/apis/apps/v1")).json()
    assert {"deployments", "statefulsets", "daemonsets"} <= {r["name"] for r in apps["resources"]}
    index = (await api.request("GET", "/openapi/v3")).json()["paths"]
    url = index["apis/apps/v1"]["serverRelativeURL"]
    spec = (await api.request("GET", url)).json()
    patch = spec["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    missing = await api.request("GET", "/apis/nothing.example/v1/things")
    assert_status(missing, 404, "NotFound", "the server could not find the requested resource")


async def test_create_get_conflicts_and_invalid(api: Api) -> None:
    created = await api.create(CM, cm("a"))
    assert created.status_code == 201
    body = created.json()
    assert body["metadata"]["resourceVersion"] and body["metadata"]["uid"]
    assert body["metadata"]["creationTimestamp"].endswith("Z")

    taken = await api.create(CM, cm("a"))
    status = assert_status(taken, 409, "AlreadyExists", 'configmaps "a" already exists')
    assert status["details"] == {"name": "a", "kind": "configmaps"}

    stale = dict(body, data={"x": "1"})
    stale["metadata"] = dict(body["metadata"], resourceVersion="1")
    conflict = await api.request("PUT", f"{CM}/a", json=stale)
    assert_status(
        conflict,
        409,
        "Conflict",
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; please '
        "apply your changes to the latest version and try again",
    )
    fresh = await api.request("PUT", f"{CM}/a", json=dict(body, data={"x": "1"}))
    assert fresh.status_code == 200
    assert int(fresh.json()["metadata"]["resourceVersion"]) > int(
        body["metadata"]["resourceVersion"]
    )

    invalid = await api.create(CM, cm("Not_Valid"))
    status = assert_status(
        invalid,
        422,
        "Invalid",
        'ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid": a lowercase '
        "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
        "must start and end with an alphanumeric character",
    )
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    bad_deploy = await api.create(
        "/apis/apps/v1/namespaces/default/deployments",
        {"metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": []}}}},
    )
    status = assert_status(
        bad_deploy,
        422,
        "Invalid",
        'Deployment.apps "d" is invalid: [spec.selector: Required value; '
        "spec.template.spec.containers: Required value]",
    )
    assert status["details"]["group"] == "apps"

    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "lots"}}}]},
    }
    bad_pod = await api.create("/api/v1/namespaces/default/pods", pod)
    status = assert_status(
        bad_pod,
        422,
        "Invalid",
        'Pod "p" is invalid: spec.containers[0].resources.requests[cpu]: Invalid value: "lots": '
        "must be a quantity (like 100m or 1Gi)",
    )

    lost = await api.create("/api/v1/namespaces/nowhere/configmaps", cm("b"))
    assert_status(lost, 404, "NotFound", 'namespaces "nowhere" not found')
    missing = await api.request("GET", f"{CM}/zzz")
    assert_status(missing, 404, "NotFound", 'configmaps "zzz" not found')
    nodes = await api.create("/api/v1/nodes", {"metadata": {"name": "n"}})
    assert nodes.status_code == 405


async def test_patch_types(api: Api) -> None:
    await api.create(CM, dict(cm("p"), data={"a": "1", "b": "2"}))
    merged = await api.patch(
        f"{CM}/p", {"data": {"a": None, "c": "3"}}, "application/merge-patch+json"
    )
    assert merged.json()["data"] == {"b": "2", "c": "3"}
    ops = [{"op": "replace", "path": "/data/b", "value": "20"}, {"op": "remove", "path": "/data/c"}]
    patched = await api.patch(f"{CM}/p", ops, "application/json-patch+json")
    assert patched.json()["data"] == {"b": "20"}
    failing = await api.patch(
        f"{CM}/p", [{"op": "remove", "path": "/nope"}], "application/json-patch+json"
    )
    assert failing.status_code == 422

    deploy = "/apis/apps/v1/namespaces/default/deployments"
    spec = {
        "selector": {"matchLabels": {"app": "s"}},
        "template": {
            "metadata": {"labels": {"app": "s"}},
            "spec": {
                "containers": [{"name": "a", "image": "one", "ports": [{"containerPort": 80}]}]
            },
        },
    }
    await api.create(deploy, {"metadata": {"name": "s"}, "spec": spec})
    strategic = await api.patch(
        f"{deploy}/s",
        {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "two"}]}}}},
        "application/strategic-merge-patch+json",
    )
    (container,) = strategic.json()["spec"]["template"]["spec"]["containers"]
    assert container == {"name": "a", "image": "two", "ports": [{"containerPort": 80}]}
    assert strategic.json()["metadata"]["generation"] == 2

    applied = await api.patch(
        f"{CM}/q",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: q\ndata:\n  k: v\n",
        "application/apply-patch+yaml",
        fieldManager="yaml-writer",
    )
    assert applied.status_code == 201
    assert applied.json()["metadata"]["managedFields"][0]["manager"] == "yaml-writer"
    unknown = await api.patch(f"{CM}/q", {}, "text/plain")
    assert unknown.status_code == 415


async def test_selectors_dry_run_status_and_finalizers(api: Api) -> None:
    for name, labels in (("one", {"tier": "web"}), ("two", {"tier": "db"}), ("three", {})):
        await api.create(CM, cm(name, **labels))

    async def names(**params: str) -> list[str]:
        listing = (await api.request("GET", CM, params=params)).json()
        assert listing["kind"] == "ConfigMapList" and listing["metadata"]["resourceVersion"]
        return [i["metadata"]["name"] for i in listing["items"]]

    assert await names(labelSelector="tier in (web,db)") == ["one", "two"]
    assert await names(labelSelector="!tier") == ["three"]
    assert await names(labelSelector="tier!=web") == ["three", "two"]
    assert await names(fieldSelector="metadata.name=two") == ["two"]
    bad = await api.request("GET", CM, params={"labelSelector": "a in (b"})
    assert bad.status_code == 400

    dry = await api.request("POST", CM, json=cm("ghost"), params={"dryRun": "All"})
    assert dry.status_code == 201
    assert "ghost" not in await names()

    crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    status_crd = {
        "metadata": {"name": "jobs.example.net"},
        "spec": {
            "group": "example.net",
            "scope": "Cluster",
            "names": {"plural": "jobs", "kind": "Job"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}}
            ],
        },
    }
    assert (await api.create(crd, status_crd)).status_code == 201
    jobs = "/apis/example.net/v1/jobs"
    created = await api.create(
        jobs,
        {"metadata": {"name": "j", "finalizers": ["x/y"]}, "spec": {"n": 1}, "status": {"ok": 1}},
    )
    assert "status" not in created.json()  # the main resource ignores status
    updated = await api.patch(
        f"{jobs}/j/status", {"status": {"ok": 2}}, "application/merge-patch+json"
    )
    assert updated.json()["status"] == {"ok": 2}
    assert updated.json()["metadata"]["generation"] == 1

    deleting = await api.request("DELETE", f"{jobs}/j")
    assert deleting.json()["metadata"]["deletionTimestamp"]
    assert (await api.request("GET", f"{jobs}/j")).status_code == 200
    await api.patch(f"{jobs}/j", {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    assert (await api.request("GET", f"{jobs}/j")).status_code == 404


async def test_watch_streams_changes(api: Api) -> None:
    await api.create(CM, cm("w1"))
    events: list[tuple[str, str]] = []
    params = {"watch": "true", "timeoutSeconds": "120"}
    async with api.http.stream(
        "GET", api.prefix + CM, params=params, headers=api.headers
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            event = json.loads(line)
            events.append((event["type"], event["object"]["metadata"]["name"]))
            if len(events) == 1:
                await api.create(CM, cm("w2"))
                await api.request("DELETE", f"{CM}/w1")
            if len(events) == 3:
                break
    assert events == [("ADDED", "w1"), ("ADDED", "w2"), ("DELETED", "w1")]
