"""Every verb of a namespaced kind and of the cluster-scoped Namespace, over the real store."""

from __future__ import annotations

import httpx

from .helpers import NS, P, assert_status, credential, deployment, ns_path, template


async def test_namespaced_kind_create_get_list_replace_patch_delete(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(ns_path("credentials"), json=credential("aws"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["apiVersion"] == "orbit.k8or.io/v1alpha1"
    assert body["kind"] == "Credential"
    assert body["metadata"]["namespace"] == NS
    assert body["metadata"]["uid"]
    assert body["metadata"]["generation"] == 1

    got = await client.get(ns_path("credentials", "aws"))
    assert got.status_code == 200
    assert got.json() == body

    listed = await client.get(ns_path("credentials"))
    assert listed.status_code == 200
    page = listed.json()
    assert page["kind"] == "CredentialList"
    assert page["apiVersion"] == "orbit.k8or.io/v1alpha1"
    assert int(page["metadata"]["resourceVersion"]) >= int(body["metadata"]["resourceVersion"])
    assert [i["metadata"]["name"] for i in page["items"]] == ["aws"]

    replacement = credential("aws")
    replacement["spec"]["description"] = "production account"
    replaced = await client.put(ns_path("credentials", "aws"), json=replacement)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["spec"]["description"] == "production account"
    assert replaced.json()["metadata"]["generation"] == 2

    patched = await client.patch(
        ns_path("credentials", "aws"),
        json={"metadata": {"labels": {"team": "infra"}}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["metadata"]["labels"] == {"team": "infra"}
    assert patched.json()["spec"]["description"] == "production account"

    deleted = await client.delete(ns_path("credentials", "aws"))
    assert deleted.status_code == 200
    assert deleted.json()["metadata"]["name"] == "aws"
    assert deleted.json()["metadata"]["deletionTimestamp"]
    assert_status(await client.get(ns_path("credentials", "aws")), 404, "NotFound")


async def test_namespace_verbs(client: httpx.AsyncClient) -> None:
    created = await client.post(f"{P}/namespaces", json={"metadata": {"name": "team-a"}})
    assert created.status_code == 201, created.text
    assert "namespace" not in created.json()["metadata"]

    assert (await client.get(f"{P}/namespaces/team-a")).json()["metadata"]["name"] == "team-a"
    names = [i["metadata"]["name"] for i in (await client.get(f"{P}/namespaces")).json()["items"]]
    assert names == ["default", "team-a"]

    replaced = await client.put(
        f"{P}/namespaces/team-a",
        json={"metadata": {"name": "team-a"}, "spec": {"description": "A"}},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["spec"]["description"] == "A"

    patched = await client.patch(
        f"{P}/namespaces/team-a", json={"metadata": {"labels": {"x": "1"}}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["metadata"]["labels"] == {"x": "1"}

    deleted = await client.delete(f"{P}/namespaces/team-a")
    assert deleted.status_code == 200
    assert_status(await client.get(f"{P}/namespaces/team-a"), 404, "NotFound")


async def test_not_found_names_the_object(client: httpx.AsyncClient) -> None:
    body = assert_status(await client.get(ns_path("clusterdeployments", "ghost")), 404, "NotFound")
    assert body["details"]["name"] == "ghost"
    assert body["details"]["kind"] == "clusterdeployments"
    assert "ghost" in body["message"]
    assert_status(await client.delete(ns_path("credentials", "ghost")), 404, "NotFound")
    assert_status(await client.put(ns_path("credentials", "ghost"), json=credential("ghost")), 404,
                  "NotFound")  # fmt: skip
    assert_status(await client.patch(ns_path("credentials", "ghost"), json={}), 404, "NotFound")


async def test_create_in_missing_namespace_is_not_found(client: httpx.AsyncClient) -> None:
    body = assert_status(
        await client.post(ns_path("credentials", ns="nowhere"), json=credential()), 404, "NotFound"
    )
    assert "nowhere" in body["message"]


async def test_already_exists(client: httpx.AsyncClient) -> None:
    assert (await client.post(ns_path("credentials"), json=credential())).status_code == 201
    body = assert_status(
        await client.post(ns_path("credentials"), json=credential()), 409, "AlreadyExists"
    )
    assert body["details"]["name"] == "cred"


async def test_stale_resource_version_conflicts(client: httpx.AsyncClient) -> None:
    first = (await client.post(ns_path("credentials"), json=credential())).json()
    fresh = credential()
    fresh["metadata"]["resourceVersion"] = first["metadata"]["resourceVersion"]
    fresh["spec"]["description"] = "one"
    assert (await client.put(ns_path("credentials", "cred"), json=fresh)).status_code == 200

    fresh["spec"]["description"] = "two"  # still carries the old resourceVersion
    assert_status(await client.put(ns_path("credentials", "cred"), json=fresh), 409, "Conflict")

    stale_patch = {"metadata": {"resourceVersion": first["metadata"]["resourceVersion"]}}
    assert_status(
        await client.patch(ns_path("credentials", "cred"), json=stale_patch), 409, "Conflict"
    )


async def test_put_without_resource_version_is_unconditional(client: httpx.AsyncClient) -> None:
    await client.post(ns_path("credentials"), json=credential())
    for description in ("a", "b"):
        body = credential()
        body["spec"]["description"] = description
        response = await client.put(ns_path("credentials", "cred"), json=body)
        assert response.status_code == 200, response.text
        assert response.json()["spec"]["description"] == description


async def test_create_fills_api_version_kind_and_namespace(client: httpx.AsyncClient) -> None:
    body = deployment()
    assert "apiVersion" not in body
    created = await client.post(ns_path("clusterdeployments"), json=body)
    assert created.status_code == 201, created.text
    obj = created.json()
    assert obj["apiVersion"] == "orbit.k8or.io/v1alpha1"
    assert obj["kind"] == "ClusterDeployment"
    assert obj["metadata"]["namespace"] == NS


async def test_create_ignores_status(client: httpx.AsyncClient) -> None:
    body = deployment()
    body["status"] = {"phase": "Ready", "observedGeneration": 1}
    created = await client.post(ns_path("clusterdeployments"), json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"]["phase"] == "Pending"
    assert "observedGeneration" not in created.json()["status"]


async def test_yaml_body_create_and_replace(client: httpx.AsyncClient) -> None:
    manifest = """\
apiVersion: orbit.k8or.io/v1alpha1
kind: ClusterTemplate
metadata:
  name: k3s-1-30
  labels: {channel: stable}
spec:
  provider: sim
  version: 1.0.0
  kubernetesVersion: v1.30.2
  cluster:
    controlPlane: {count: 1}
    workers: {count: "{{ workers }}"}
"""
    headers = {"content-type": "application/yaml"}
    created = await client.post(ns_path("clustertemplates"), content=manifest, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["cluster"]["workers"]["count"] == "{{ workers }}"
    assert created.json()["metadata"]["labels"] == {"channel": "stable"}

    replaced = await client.put(
        ns_path("clustertemplates", "k3s-1-30"),
        content=manifest.replace("stable", "beta"),
        headers={"content-type": "application/x-yaml; charset=utf-8"},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["metadata"]["labels"] == {"channel": "beta"}


async def test_events_are_served(client: httpx.AsyncClient) -> None:
    event = {
        "metadata": {"name": "dev.1"},
        "involvedObject": {"kind": "ClusterDeployment", "namespace": NS, "name": "dev"},
        "reason": "Provisioning",
        "message": "Creating cluster",
    }
    created = await client.post(ns_path("events"), json=event)
    assert created.status_code == 201, created.text
    assert (await client.get(f"{P}/events")).json()["items"][0]["reason"] == "Provisioning"
    template_created = await client.post(ns_path("clustertemplates"), json=template())
    assert template_created.status_code == 201, template_created.text
