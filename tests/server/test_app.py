"""The application around the routes: discovery, OpenAPI, health, readiness and admission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from orbit import errors
from orbit.api import v1alpha1
from orbit.server import create_app

from .helpers import NS, P, assert_status, cause_fields, credential, deployment, ns_path, template


def _client(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://orbit.test", headers=headers)


async def test_discovery_lists_every_kind(client: httpx.AsyncClient) -> None:
    response = await client.get(P)
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "APIResourceList"
    assert body["groupVersion"] == "orbit.k8or.io/v1alpha1"
    by_name = {r["name"]: r for r in body["resources"]}
    for cls in v1alpha1.KINDS:
        entry = by_name[cls.PLURAL]
        assert entry["kind"] == cls.KIND
        assert entry["singularName"] == cls.SINGULAR
        assert entry["namespaced"] == cls.NAMESPACED
        assert entry["shortNames"] == list(cls.SHORT_NAMES)
        assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= set(
            entry["verbs"]
        )
        assert (f"{cls.PLURAL}/status" in by_name) == cls.HAS_STATUS
    assert by_name["namespaces"]["namespaced"] is False


async def test_openapi_documents_each_kind(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    schemas = doc["components"]["schemas"]
    paths = doc["paths"]
    for cls in v1alpha1.KINDS:
        assert cls.KIND in schemas, cls.KIND
        assert f"{cls.KIND}List" in schemas
        collection = (
            f"{P}/namespaces/{{namespace}}/{cls.PLURAL}" if cls.NAMESPACED else f"{P}/{cls.PLURAL}"
        )
        item = f"{collection}/{{name}}"
        assert {"get", "post"} <= set(paths[collection])
        assert {"get", "put", "patch", "delete"} <= set(paths[item])
        body = paths[collection]["post"]["requestBody"]["content"]
        assert body["application/json"]["schema"]["$ref"] == f"#/components/schemas/{cls.KIND}"
        assert "application/yaml" in body
        ok = paths[item]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"] == f"#/components/schemas/{cls.KIND}"
        assert paths[item]["get"]["responses"]["404"]["content"]["application/json"]["schema"][
            "$ref"
        ].endswith("/Status")
        if cls.NAMESPACED:
            assert f"{P}/{cls.PLURAL}" in paths
        assert (f"{item}/status" in paths) == cls.HAS_STATUS
    assert "spec" in schemas["ClusterDeployment"]["properties"]
    assert "/healthz" in paths
    assert "/readyz" in paths
    assert (await client.get("/docs")).status_code == 200


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


async def test_readyz_follows_readiness(
    make_app: Callable[..., FastAPI], admin_headers: dict[str, str]
) -> None:
    ready = False

    async def readiness() -> bool:
        return ready

    async with _client(make_app(readiness=readiness), admin_headers) as http:
        status = assert_status(await http.get("/readyz"), 503, "ServiceUnavailable")
        assert "controllers" in status["message"]
        ready = True
        response = await http.get("/readyz")
        assert response.status_code == 200
        assert response.text == "ok"


async def test_readyz_and_requests_before_the_store_is_open() -> None:
    async with _client(create_app(store=None)) as http:
        assert_status(await http.get("/readyz"), 503, "ServiceUnavailable")
        # No identity: 401 whatever the state; with a token, the server says it is starting.
        assert_status(await http.get(ns_path("credentials")), 401, "Unauthorized")
        starting = await http.get(
            ns_path("credentials"), headers={"Authorization": "Bearer orbit_abc_def"}
        )
        assert_status(starting, 503, "ServiceUnavailable")
        assert (await http.get("/healthz")).status_code == 200


async def test_readyz_when_the_store_fails(
    make_app: Callable[..., FastAPI], admin_headers: dict[str, str], store: Any
) -> None:
    app = make_app()
    await store.close()
    async with _client(app, admin_headers) as http:
        assert_status(await http.get("/readyz"), 503, "ServiceUnavailable")


class RecordingAdmission:
    """Refuses ClusterDeployments with more than 10 workers; defaults a label; records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def admit(
        self, new: v1alpha1.Resource, old: v1alpha1.Resource | None
    ) -> v1alpha1.Resource:
        self.calls.append((new.metadata.name, old.metadata.resource_version if old else None))
        if isinstance(new, v1alpha1.ClusterDeployment):
            if new.spec.config.get("workers", 0) > 10:
                raise errors.invalid(
                    new.KIND,
                    new.metadata.name,
                    errors.Cause("spec.config.workers", "must be at most 10"),
                )
            labels = {"orbit.k8or.io/template": new.spec.template, **new.metadata.labels}
            new = new.model_copy(
                update={"metadata": new.metadata.model_copy(update={"labels": labels})}
            )
        return new

    async def admit_delete(self, obj: v1alpha1.Resource) -> None:
        self.calls.append((f"delete {obj.metadata.name}", obj.metadata.resource_version))
        if obj.metadata.labels.get("protected") == "true":
            raise errors.Conflict(
                f'credential "{obj.metadata.name}" is protected', kind=obj.KIND,
                name=obj.metadata.name,
            )  # fmt: skip


async def test_admission_defaults_and_refuses(
    make_app: Callable[..., FastAPI], admin_headers: dict[str, str]
) -> None:
    admission = RecordingAdmission()
    async with _client(make_app(admission=admission), admin_headers) as http:
        await http.post(f"{P}/namespaces", json={"metadata": {"name": NS}})
        created = await http.post(ns_path("clusterdeployments"), json=deployment())
        assert created.status_code == 201, created.text
        assert created.json()["metadata"]["labels"] == {"orbit.k8or.io/template": "k3s-1-30"}
        version = created.json()["metadata"]["resourceVersion"]

        refused = await http.post(ns_path("clusterdeployments"), json=deployment("big", workers=50))
        status = assert_status(refused, 422, "Invalid")
        assert cause_fields(status) == ["spec.config.workers"]
        assert status["details"]["name"] == "big"
        assert_status(await http.get(ns_path("clusterdeployments", "big")), 404, "NotFound")

        path = ns_path("clusterdeployments", "dev")
        scale = {"spec": {"config": {"workers": 11}}}
        assert_status(await http.patch(path, json=scale), 422, "Invalid")
        assert assert_ok(await http.get(path))["spec"]["config"] == {"workers": 2}
        assert_status(await http.put(path, json=deployment(workers=12)), 422, "Invalid")
        assert assert_ok(await http.get(path))["metadata"]["resourceVersion"] == version

        assert (await http.patch(path, json={"spec": {"config": {"workers": 3}}})).is_success
        assert admission.calls[-1] == ("dev", version)

        # Status writes do not pass through admission.
        calls = len(admission.calls)
        status_patch = {"status": {"phase": "Ready"}}
        assert (await http.patch(path + "/status", json=status_patch)).is_success
        assert len(admission.calls) == calls

        # Other kinds go through too, with old=None on create.
        assert (await http.post(ns_path("clustertemplates"), json=template())).is_success
        assert (await http.post(ns_path("credentials"), json=credential())).is_success
        assert admission.calls[-1] == ("cred", None)


async def test_delete_admission(
    make_app: Callable[..., FastAPI], admin_headers: dict[str, str]
) -> None:
    admission = RecordingAdmission()
    async with _client(make_app(admission=admission), admin_headers) as http:
        await http.post(f"{P}/namespaces", json={"metadata": {"name": NS}})
        await http.post(ns_path("credentials"), json=credential("keep", protected="true"))
        await http.post(ns_path("credentials"), json=credential("drop"))

        status = assert_status(await http.delete(ns_path("credentials", "keep")), 409, "Conflict")
        assert "protected" in status["message"]
        assert (await http.get(ns_path("credentials", "keep"))).status_code == 200

        assert (await http.delete(ns_path("credentials", "drop"))).status_code == 200
        assert admission.calls[-1][0] == "delete drop"
        assert_status(await http.delete(ns_path("credentials", "drop")), 404, "NotFound")


def assert_ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_extra_routers_are_mounted(
    make_app: Callable[..., FastAPI], admin_headers: dict[str, str]
) -> None:
    router = APIRouter()

    @router.get("/simplane/v1/clusters")
    async def clusters() -> dict[str, list[str]]:
        return {"items": []}

    async with _client(make_app(routers=[router]), admin_headers) as http:
        assert (await http.get("/simplane/v1/clusters")).json() == {"items": []}
