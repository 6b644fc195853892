"""Merge patch, the status subresource, and deletion with finalizers."""

from __future__ import annotations

from typing import Any

import httpx

from .helpers import assert_status, credential, deployment, ns_path

MERGE = {"content-type": "application/merge-patch+json"}


async def _create(client: httpx.AsyncClient, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(ns_path(plural), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_merge_patch_merges_and_null_removes(client: httpx.AsyncClient) -> None:
    body = deployment(workers=2, env="dev", team="a")
    body["metadata"]["annotations"] = {"note": "keep"}
    created = await _create(client, "clusterdeployments", body)

    patch = {"spec": {"config": {"workers": 5}}, "metadata": {"labels": {"team": None}}}
    response = await client.patch(ns_path("clusterdeployments", "dev"), json=patch, headers=MERGE)
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["spec"]["config"] == {"workers": 5}
    assert patched["spec"]["template"] == "k3s-1-30"
    assert patched["metadata"]["labels"] == {"env": "dev"}
    assert patched["metadata"]["annotations"] == {"note": "keep"}
    assert patched["metadata"]["generation"] == created["metadata"]["generation"] + 1

    removed = await client.patch(
        ns_path("clusterdeployments", "dev"), json={"spec": {"ttl": "2h"}}, headers=MERGE
    )
    assert removed.json()["spec"]["ttl"] == "2h"
    removed = await client.patch(
        ns_path("clusterdeployments", "dev"), json={"spec": {"ttl": None}}, headers=MERGE
    )
    assert "ttl" not in removed.json()["spec"]


async def test_patch_accepts_plain_json_and_yaml(client: httpx.AsyncClient) -> None:
    await _create(client, "credentials", credential())
    response = await client.patch(
        ns_path("credentials", "cred"), json={"spec": {"description": "j"}}
    )
    assert response.json()["spec"]["description"] == "j"
    response = await client.patch(
        ns_path("credentials", "cred"),
        content="spec:\n  description: y\n",
        headers={"content-type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["description"] == "y"


async def test_patch_that_breaks_the_object_is_invalid(client: httpx.AsyncClient) -> None:
    await _create(client, "clusterdeployments", deployment())
    response = await client.patch(
        ns_path("clusterdeployments", "dev"), json={"spec": {"template": None}}, headers=MERGE
    )
    status = assert_status(response, 422, "Invalid")
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.template"]


async def test_patch_cannot_rename(client: httpx.AsyncClient) -> None:
    await _create(client, "credentials", credential())
    response = await client.patch(
        ns_path("credentials", "cred"), json={"metadata": {"name": "other"}}, headers=MERGE
    )
    assert_status(response, 400, "BadRequest")


async def test_status_write_does_not_bump_generation(client: httpx.AsyncClient) -> None:
    created = await _create(client, "clusterdeployments", deployment())
    status_path = ns_path("clusterdeployments", "dev") + "/status"

    patch = {"status": {"phase": "Provisioning", "observedGeneration": 1}}
    response = await client.patch(status_path, json=patch, headers=MERGE)
    assert response.status_code == 200, response.text
    obj = response.json()
    assert obj["status"]["phase"] == "Provisioning"
    assert obj["metadata"]["generation"] == created["metadata"]["generation"]
    assert int(obj["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    # PUT on /status takes only the status: the spec in the body is ignored.
    obj["status"]["phase"] = "Ready"
    obj["spec"]["config"] = {"workers": 9}
    response = await client.put(status_path, json=obj)
    assert response.status_code == 200, response.text
    assert response.json()["status"]["phase"] == "Ready"
    assert response.json()["spec"]["config"] == {"workers": 2}
    assert response.json()["metadata"]["generation"] == 1

    got = await client.get(status_path)
    assert got.status_code == 200
    assert got.json()["status"]["phase"] == "Ready"


async def test_main_put_and_patch_keep_status(client: httpx.AsyncClient) -> None:
    await _create(client, "clusterdeployments", deployment())
    path = ns_path("clusterdeployments", "dev")
    await client.patch(path + "/status", json={"status": {"phase": "Ready"}}, headers=MERGE)

    body = deployment(workers=3)
    body["status"] = {"phase": "Failed"}
    replaced = await client.put(path, json=body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["status"]["phase"] == "Ready"
    assert replaced.json()["spec"]["config"] == {"workers": 3}

    patched = await client.patch(path, json={"status": {"phase": "Failed"}}, headers=MERGE)
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"]["phase"] == "Ready"


async def test_stale_status_write_conflicts(client: httpx.AsyncClient) -> None:
    created = await _create(client, "clusterdeployments", deployment())
    await client.patch(ns_path("clusterdeployments", "dev"), json={"spec": {"ttl": "1h"}})
    created["status"]["phase"] = "Ready"
    response = await client.put(ns_path("clusterdeployments", "dev") + "/status", json=created)
    assert_status(response, 409, "Conflict")


async def test_invalid_status_is_rejected(client: httpx.AsyncClient) -> None:
    await _create(client, "clusterdeployments", deployment())
    response = await client.patch(
        ns_path("clusterdeployments", "dev") + "/status",
        json={"status": {"phase": "Sleeping"}},
        headers=MERGE,
    )
    status = assert_status(response, 422, "Invalid")
    assert [c["field"] for c in status["details"]["causes"]] == ["status.phase"]


async def test_delete_with_finalizer_lingers_until_it_is_removed(
    client: httpx.AsyncClient,
) -> None:
    body = deployment()
    body["metadata"]["finalizers"] = ["orbit.k8or.io/cluster-teardown"]
    await _create(client, "clusterdeployments", body)
    path = ns_path("clusterdeployments", "dev")

    deleted = await client.delete(path)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["metadata"]["deletionTimestamp"]

    lingering = await client.get(path)
    assert lingering.status_code == 200
    assert lingering.json()["metadata"]["deletionTimestamp"]
    assert (await client.delete(path)).status_code == 200  # repeated deletes are harmless

    response = await client.patch(path, json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert response.status_code == 200, response.text
    assert_status(await client.get(path), 404, "NotFound")
