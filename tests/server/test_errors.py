"""Every failure is a Kubernetes Status with the right code, reason and field paths."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from orbit.api.causes import field_path

from .helpers import P, assert_status, cause_fields, credential, deployment, ns_path, template


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("spec", "upgradeTo", 1), "spec.upgradeTo[1]"),
        (("metadata", "labels"), "metadata.labels"),
        (("status", "nodes", "items", 0, "name"), "status.nodes.items[0].name"),
        ((), ""),
    ],
)
def test_field_path(loc: tuple[int | str, ...], path: str) -> None:
    assert field_path(loc) == path


async def test_missing_and_unknown_fields_name_their_paths(client: httpx.AsyncClient) -> None:
    body = deployment()
    del body["spec"]["template"]
    body["spec"]["replicas"] = 3
    status = assert_status(await client.post(ns_path("clusterdeployments"), json=body), 422,
                           "Invalid")  # fmt: skip
    assert set(cause_fields(status)) == {"spec.template", "spec.replicas"}
    assert status["details"]["kind"] == "clusterdeployments"
    assert status["details"]["name"] == "dev"
    reasons = {c["field"]: c["reason"] for c in status["details"]["causes"]}
    assert reasons["spec.template"] == "FieldValueRequired"
    assert "spec.template" in status["message"]
    assert "spec.replicas" in status["message"]


async def test_bad_name_is_invalid(client: httpx.AsyncClient) -> None:
    status = assert_status(
        await client.post(ns_path("credentials"), json=credential("Not_A_Name")), 422, "Invalid"
    )
    assert cause_fields(status) == ["metadata.name"]
    assert "lowercase" in status["details"]["causes"][0]["message"]


async def test_list_index_in_field_path(client: httpx.AsyncClient) -> None:
    body = deployment()
    body["status"] = {"nodes": {"items": [{"name": "n1", "role": "worker"}]}}
    status = assert_status(await client.post(ns_path("clusterdeployments"), json=body), 422,
                           "Invalid")  # fmt: skip
    assert "status.nodes.items[0].kubernetesVersion" in cause_fields(status)


async def test_camel_case_paths_in_nested_models(client: httpx.AsyncClient) -> None:
    body = template()
    body["spec"]["upgradeTo"] = ["ok", "Bad_Name"]
    status = assert_status(await client.post(ns_path("clustertemplates"), json=body), 422,
                           "Invalid")  # fmt: skip
    assert cause_fields(status) == ["spec.upgradeTo"]


async def test_wrong_kind_or_api_version_is_rejected(client: httpx.AsyncClient) -> None:
    body = credential()
    body["kind"] = "ClusterDeployment"
    status = assert_status(await client.post(ns_path("credentials"), json=body), 422, "Invalid")
    assert cause_fields(status) == ["kind"]
    body = credential()
    body["apiVersion"] = "v1"
    status = assert_status(await client.post(ns_path("credentials"), json=body), 422, "Invalid")
    assert cause_fields(status) == ["apiVersion"]


async def test_malformed_json_names_line_and_column(client: httpx.AsyncClient) -> None:
    content = '{\n  "metadata": {"name": "x",}\n}'
    status = assert_status(
        await client.post(
            ns_path("credentials"), content=content, headers={"content-type": "application/json"}
        ),
        400,
        "BadRequest",
    )
    assert "line 2" in status["message"]
    assert "column" in status["message"]


async def test_malformed_yaml_names_line_and_column(client: httpx.AsyncClient) -> None:
    content = "metadata:\n  name: x\nspec: {provider: sim\n"
    status = assert_status(
        await client.post(
            ns_path("credentials"), content=content, headers={"content-type": "application/yaml"}
        ),
        400,
        "BadRequest",
    )
    assert "YAML" in status["message"]
    assert "line 4" in status["message"]
    assert "column 1" in status["message"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("", "empty"), ("[1, 2]", "object"), ("\xff", "UTF-8")],
)
async def test_unreadable_bodies(client: httpx.AsyncClient, content: str, fragment: str) -> None:
    status = assert_status(
        await client.post(ns_path("credentials"), content=content.encode("latin-1"),
                          headers={"content-type": "application/json"}),
        400,
        "BadRequest",
    )  # fmt: skip
    assert fragment in status["message"]


async def test_unsupported_content_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        ns_path("credentials"), content=b"x", headers={"content-type": "text/csv"}
    )
    assert_status(response, 415, "UnsupportedMediaType")
    await client.post(ns_path("credentials"), json=credential())
    response = await client.patch(
        ns_path("credentials", "cred"),
        content=b"[]",
        headers={"content-type": "application/json-patch+json"},
    )
    assert "merge patch" in assert_status(response, 415, "UnsupportedMediaType")["message"]


async def test_namespace_mismatch_is_bad_request(client: httpx.AsyncClient) -> None:
    body = credential()
    body["metadata"]["namespace"] = "other"
    status = assert_status(await client.post(ns_path("credentials"), json=body), 400,
                           "BadRequest")  # fmt: skip
    assert '"other"' in status["message"]
    assert '"default"' in status["message"]


async def test_name_mismatch_on_put_is_bad_request(client: httpx.AsyncClient) -> None:
    await client.post(ns_path("credentials"), json=credential("a"))
    status = assert_status(
        await client.put(ns_path("credentials", "a"), json=credential("b")), 400, "BadRequest"
    )
    assert '"b"' in status["message"]


async def test_namespace_with_namespace_field_is_invalid(client: httpx.AsyncClient) -> None:
    body = {"metadata": {"name": "team-b", "namespace": "default"}}
    status = assert_status(await client.post(f"{P}/namespaces", json=body), 422, "Invalid")
    assert cause_fields(status) == ["metadata"]


async def test_unknown_kind_lists_known_kinds(client: httpx.AsyncClient) -> None:
    for path in (f"{P}/foos", f"{P}/namespaces/default/foos", f"{P}/namespaces/default/foos/x"):
        status = assert_status(await client.get(path), 404, "NotFound")
        assert 'unknown kind "foos"' in status["message"]
        assert "clusterdeployments" in status["message"]
    hint = assert_status(await client.get(f"{P}/namespaces/default/clusters"), 404, "NotFound")
    assert 'did you mean "clusterdeployments"' in hint["message"]


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    assert_status(await client.get("/nowhere"), 404, "NotFound")
    status = assert_status(await client.post(ns_path("credentials", "x")), 405,
                           "MethodNotAllowed")  # fmt: skip
    assert "POST" in status["message"]
    # Kinds without a status subresource have no /status route.
    assert_status(await client.get(ns_path("clustertemplates", "x") + "/status"), 404, "NotFound")


async def test_bad_query_parameters(client: httpx.AsyncClient) -> None:
    status = assert_status(await client.get(ns_path("credentials") + "?limit=many"), 422,
                           "Invalid")  # fmt: skip
    assert cause_fields(status) == ["limit"]
    status = assert_status(
        await client.get(ns_path("credentials"), params={"labelSelector": "a in b"}), 400,
        "BadRequest",
    )  # fmt: skip
    assert "labelSelector" in status["message"]
    status = assert_status(
        await client.get(ns_path("credentials"), params={"watch": "true", "resourceVersion": "x"}),
        400,
        "BadRequest",
    )
    assert "resourceVersion" in status["message"]


async def test_bad_continue_token(client: httpx.AsyncClient) -> None:
    response = await client.get(ns_path("credentials"), params={"limit": 1, "continue": "%%%"})
    assert_status(response, 400, "BadRequest")


class Payload(BaseModel):
    size: int


def _failing_router() -> APIRouter:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @router.get("/pydantic")
    async def pydantic_error() -> None:
        Payload.model_validate({"size": "big"})

    return router


async def test_internal_errors_do_not_leak(make_app: object) -> None:
    assert callable(make_app)
    app: FastAPI = make_app(routers=[_failing_router()])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://orbit.test") as http:
        status = assert_status(await http.get("/boom"), 500, "InternalError")
        assert "hunter2" not in status["message"]
        assert "RuntimeError" not in status["message"]
        status = assert_status(await http.get("/pydantic"), 422, "Invalid")
        assert cause_fields(status) == ["size"]
