"""Bad input through the real API with the real admission: each refusal is a clear 4xx whose
Status names the field, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from orbit import catalog
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.server import create_app
from orbit.store.base import ResourceStore
from orbit.store.sql import SqlStore

P = "/apis/orbit.k8or.io/v1alpha1"
CDS = f"{P}/namespaces/default/clusterdeployments"
CTS = f"{P}/namespaces/default/clustertemplates"


@pytest.fixture
async def api(store: SqlStore, admin_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    await catalog.install(store)
    app = create_app(store=store, admission=Admission(store, providers=("sim",)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://orbit.test", headers=admin_headers
    ) as http:
        yield http


def cluster(name: str = "c1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "orbit.k8or.io/v1alpha1",
        "kind": "ClusterDeployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": "sim-single-1-0-0", "credential": "sim", **spec},
    }


def fields(response: httpx.Response) -> list[str]:
    body = response.json()
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["message"]
    return [c["field"] for c in body.get("details", {}).get("causes", [])]


async def revision(store: ResourceStore) -> int:
    return await store.revision()


async def test_malformed_yaml_names_the_line(api: httpx.AsyncClient, store: ResourceStore) -> None:
    before = await revision(store)
    body = "apiVersion: orbit.k8or.io/v1alpha1\nkind: ClusterDeployment\nmetadata:\n  name: [x\n"
    response = await api.post(CDS, content=body, headers={"Content-Type": "application/yaml"})
    assert response.status_code == 400
    assert "line" in response.json()["message"]
    assert await revision(store) == before


async def test_unknown_kind(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{P}/namespaces/default/widgets", json={"metadata": {"name": "w"}})
    assert response.status_code == 404
    assert "widgets" in response.json()["message"]


async def test_missing_required_fields(api: httpx.AsyncClient, store: ResourceStore) -> None:
    before = await revision(store)
    body = cluster()
    del body["spec"]["template"]
    response = await api.post(CDS, json=body)
    assert response.status_code == 422
    assert "spec.template" in fields(response)
    assert await revision(store) == before


async def test_config_violating_the_template_schema(
    api: httpx.AsyncClient, store: ResourceStore
) -> None:
    before = await revision(store)
    response = await api.post(
        CDS, json=cluster(config={"workers": 99, "machineSize": "huge", "colour": "red"})
    )
    assert response.status_code == 422
    causes = fields(response)
    assert "spec.config.workers" in causes and "spec.config.machineSize" in causes
    assert "spec.config" in causes  # additionalProperties: false names the stray key
    assert "colour" in response.json()["message"]
    assert await revision(store) == before


async def test_template_and_credential_must_exist(api: httpx.AsyncClient) -> None:
    response = await api.post(CDS, json=cluster(template="nope-1-0-0", credential="nope"))
    assert response.status_code == 422
    assert "spec.template" in fields(response)
    assert "sim-single-1-0-0" in response.json()["message"]  # lists what is available


async def test_template_spec_is_immutable(api: httpx.AsyncClient, store: ResourceStore) -> None:
    live = (await api.get(f"{CTS}/sim-single-1-0-0")).json()
    before = await revision(store)
    live["spec"]["kubernetesVersion"] = "v1.99.0+k3s1"
    response = await api.put(f"{CTS}/sim-single-1-0-0", json=live)
    assert response.status_code == 422
    assert fields(response) == ["spec.kubernetesVersion"]
    assert "create a new template" in response.json()["message"]
    patched = await api.patch(
        f"{CTS}/sim-single-1-0-0",
        json={"spec": {"cluster": {"controlPlane": {"count": 3}}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 422
    assert await revision(store) == before
    # the upgrade path may grow: that is how a new version is published
    grown = await api.patch(
        f"{CTS}/sim-single-1-0-0",
        json={"spec": {"upgradeTo": ["sim-single-1-1-0", "sim-ha-1-1-0"]}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert grown.status_code == 200, grown.text


async def test_invalid_template_is_refused(api: httpx.AsyncClient, store: ResourceStore) -> None:
    before = await revision(store)
    template = {
        "metadata": {"name": "broken-1-0-0"},
        "spec": {
            "provider": "nowhere",
            "version": "1.0.0",
            "kubernetesVersion": "v1.30.6+k3s1",
            "parameters": {
                "type": "object",
                "properties": {"n": {"type": "integer", "default": 1}},
            },
            "cluster": {"controlPlane": {"count": "{{ m }}"}},
        },
    }
    response = await api.post(CTS, json=template)
    assert response.status_code == 422
    causes = fields(response)
    assert "spec.provider" in causes
    assert "spec.cluster.controlPlane.count" in causes
    assert "'m' is undefined" in response.json()["message"]
    bad_schema = {
        **template,
        "spec": {
            **template["spec"],
            "provider": "sim",
            "parameters": {"type": "object", "properties": {"n": {"type": "int"}}},
        },
    }
    response = await api.post(CTS, json=bad_schema)
    assert response.status_code == 422
    assert fields(response) == ["spec.parameters.properties.n.type"]
    assert await revision(store) == before


async def test_upgrade_must_follow_the_upgrade_path(
    api: httpx.AsyncClient, store: ResourceStore
) -> None:
    assert (await api.post(CDS, json=cluster())).status_code == 201
    before = await revision(store)
    response = await api.patch(
        f"{CDS}/c1",
        json={"spec": {"template": "sim-ha-1-1-0"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 422
    assert fields(response) == ["spec.template"]
    assert "sim-single-1-1-0" in response.json()["message"]  # the allowed list
    assert await revision(store) == before
    allowed = await api.patch(
        f"{CDS}/c1",
        json={"spec": {"template": "sim-single-1-1-0"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert allowed.status_code == 200


async def test_stale_resource_version_is_a_conflict(
    api: httpx.AsyncClient, store: ResourceStore
) -> None:
    created = (await api.post(CDS, json=cluster())).json()
    stale = created["metadata"]["resourceVersion"]
    first = {**created, "metadata": {**created["metadata"], "labels": {"a": "1"}}}
    assert (await api.put(f"{CDS}/c1", json=first)).status_code == 200
    before = await revision(store)
    second = {
        **created,
        "metadata": {**created["metadata"], "labels": {"b": "2"}, "resourceVersion": stale},
    }
    response = await api.put(f"{CDS}/c1", json=second)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert await revision(store) == before
    live = await store.get(v1alpha1.ClusterDeployment, "default", "c1")
    assert live.metadata.labels == {"a": "1"}


async def test_templates_and_credentials_in_use_cannot_be_deleted(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post(CDS, json=cluster())).status_code == 201
    for path in (f"{CTS}/sim-single-1-0-0", f"{P}/namespaces/default/credentials/sim"):
        response = await api.delete(path)
        assert response.status_code == 409
        assert "c1" in response.json()["message"]
    assert (await api.get(f"{P}/namespaces/default/credentials/sim")).status_code == 200


async def test_credential_and_ttl_rules(api: httpx.AsyncClient) -> None:
    response = await api.post(CDS, json=cluster(ttl="soon"))
    assert response.status_code == 422
    assert fields(response) == ["spec.ttl"]
    response = await api.post(CDS, json=cluster(ttl="1h", expiresAt="2030-01-01T00:00:00Z"))
    assert response.status_code == 422
    assert (await api.post(CDS, json=cluster())).status_code == 201
    moved = await api.patch(
        f"{CDS}/c1",
        json={"spec": {"credential": "other"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert moved.status_code == 422
    assert "spec.credential" in fields(moved)


STS = f"{P}/namespaces/default/servicetemplates"


def service_template(name: str, resources: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "version": "1.0.0",
            "parameters": {
                "type": "object",
                "properties": {"replicas": {"type": "integer", "minimum": 1, "default": 1}},
            },
            "resources": resources,
        },
    }


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  n: '{{ replicas }}'\n"


async def test_service_template_that_does_not_render(
    api: httpx.AsyncClient, store: ResourceStore
) -> None:
    before = await revision(store)
    broken = CM.replace("{{ replicas }}", "{{ replica }}")
    response = await api.post(STS, json=service_template("bad-1-0-0", broken))
    assert response.status_code == 422
    assert fields(response) == ["spec.resources"]
    assert "line 6" in response.json()["message"] and "replica" in response.json()["message"]
    response = await api.post(STS, json=service_template("bad-1-0-0", "kind: [\n{{ x"))
    assert response.status_code == 422
    assert await revision(store) == before


async def test_service_values_cycles_and_unknown_versions(api: httpx.AsyncClient) -> None:
    assert (await api.post(STS, json=service_template("web-1-0-0", CM))).status_code == 201
    bad_values = cluster(
        services=[{"name": "web", "template": "web-1-0-0", "values": {"replicas": 0}}]
    )
    response = await api.post(CDS, json=bad_values)
    assert response.status_code == 422
    assert fields(response) == ["spec.services[0].values.replicas"]
    unknown = cluster(services=[{"name": "web", "template": "web-9-9-9"}])
    response = await api.post(CDS, json=unknown)
    assert response.status_code == 422
    assert fields(response) == ["spec.services[0].template"]
    assert "web-1-0-0" in response.json()["message"]  # names what exists
    cycle = cluster(
        services=[
            {"name": "a", "template": "web-1-0-0", "dependsOn": ["b"]},
            {"name": "b", "template": "web-1-0-0", "dependsOn": ["a"]},
        ]
    )
    response = await api.post(CDS, json=cycle)
    assert response.status_code == 422
    assert fields(response) == ["spec.services"]
    assert "a -> b -> a" in response.json()["message"]
