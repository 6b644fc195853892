"""A provider's own settings are checked at admission: a Credential whose config, or a
ClusterTemplate whose providerSpec, the provider would refuse is refused at once, each bad field
named by its path, and a cluster whose config renders a bad providerSpec is refused on
``spec.config``. Before, all three were accepted and failed only when the provider first built."""

from __future__ import annotations

from typing import Any

import pytest

from orbit import catalog, errors
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.providers.capi import CapiProvider
from orbit.providers.k3d import K3dProvider
from orbit.providers.registry import ProviderRegistry
from orbit.providers.ssh import SshProvider
from orbit.store import SqlStore
from tests.providers.test_registry import FakeProvider

from .conftest import Env

SPEC = "spec.cluster.providerSpec"


@pytest.fixture
async def env(store: SqlStore) -> Env:
    await catalog.install(store)
    registry = ProviderRegistry([SshProvider(), K3dProvider(), CapiProvider()])
    return Env(
        store,
        Admission(store, providers={"sim", *registry.names()}, checks=registry.settings_checks()),
    )


def template(
    name: str,
    provider: str,
    provider_spec: dict[str, Any],
    parameters: dict[str, Any] | None = None,
) -> v1alpha1.ClusterTemplate:
    return v1alpha1.ClusterTemplate.model_validate(
        {
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "provider": provider,
                "version": "1.0.0",
                "kubernetesVersion": "v1.31.2+k3s1",
                "parameters": parameters or {"type": "object", "properties": {}},
                "cluster": {"controlPlane": {"count": 1}, "providerSpec": provider_spec},
            },
        }
    )


def causes(refused: pytest.ExceptionInfo[errors.Invalid]) -> dict[str, str]:
    return {c.field: c.message for c in refused.value.causes}


async def test_a_bad_ssh_provider_spec_is_refused_with_each_field(env: Env) -> None:
    spec = {
        "hostPools": {"servers": [{"address": "10.0.0.1"}, {"address": "not an address!"}]},
        "env": {"PATH": "/tmp"},
        "trustOnFirstUse": "perhaps",
        "comandTimeout": 30,
    }
    with pytest.raises(errors.Invalid) as refused:
        await env.create(template("lab-1-0-0", "ssh", spec))
    found = causes(refused)
    assert set(found) == {
        f"{SPEC}.hostPools.servers[1].address",
        f"{SPEC}.env",
        f"{SPEC}.trustOnFirstUse",
        f"{SPEC}.comandTimeout",
    }, found
    assert "PATH" in found[f"{SPEC}.env"]
    with pytest.raises(errors.NotFound):
        await env.store.get(v1alpha1.ClusterTemplate, "default", "lab-1-0-0")

    good = {"hostPools": {"servers": [{"address": "10.0.0.1"}]}, "env": {"K3S_NODE_IP": "x"}}
    await env.create(template("lab-1-0-0", "ssh", good))


async def test_k3d_and_capi_specs_are_checked_too(env: Env) -> None:
    with pytest.raises(errors.Invalid) as refused:
        await env.create(template("dev-1-0-0", "k3d", {"ports": "8080:80"}))
    assert list(causes(refused)) == [f"{SPEC}.ports"]
    with pytest.raises(errors.Invalid) as refused:
        await env.create(template("aws-1-0-0", "capi", {"controlPlane": {"kind": 7}}))
    assert all(field.startswith(SPEC) for field in causes(refused)), causes(refused)


async def test_a_cluster_whose_config_renders_a_bad_spec_is_refused_on_its_config(env: Env) -> None:
    # The address comes from the cluster's config (no default): only the cluster can be judged.
    parameters = {
        "type": "object",
        "properties": {"address": {"type": "string"}},
        "required": ["address"],
    }
    spec = {"hostPools": {"servers": [{"address": "{{ address }}"}]}}
    await env.create(template("lab-1-0-0", "ssh", spec, parameters))
    await env.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="lab", namespace="default"),
            spec=v1alpha1.CredentialSpec(provider="ssh"),
        )
    )

    def cluster(address: str) -> v1alpha1.ClusterDeployment:
        return v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="edge", namespace="default"),
            spec=v1alpha1.ClusterDeploymentSpec(
                template="lab-1-0-0", credential="lab", config={"address": address}
            ),
        )

    with pytest.raises(errors.Invalid) as refused:
        await env.create(cluster("not an address!"))
    found = causes(refused)
    assert list(found) == ["spec.config"]
    assert (
        f"renders an invalid providerSpec: {SPEC}.hostPools.servers[0].address"
        in found["spec.config"]
    )
    await env.create(cluster("10.0.0.7"))


def test_only_providers_that_can_check_have_a_check() -> None:
    registry = ProviderRegistry([FakeProvider("plain"), SshProvider(), K3dProvider()])
    registry.register(CapiProvider())
    checks = registry.settings_checks()
    assert sorted(checks.provider_spec) == ["capi", "k3d", "ssh"]
    assert sorted(checks.credential_config) == ["capi", "k3d", "ssh"]


async def test_a_credential_whose_config_its_provider_would_refuse_is_refused(env: Env) -> None:
    def credential(provider: str, config: dict[str, Any]) -> v1alpha1.Credential:
        return v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name=f"{provider}-lab", namespace="default"),
            spec=v1alpha1.CredentialSpec(provider=provider, config=config),
        )

    with pytest.raises(errors.Invalid) as refused:
        await env.create(credential("ssh", {"user": "Root!", "stateDir": "relative/dir"}))
    assert set(causes(refused)) == {"spec.config.user", "spec.config.stateDir"}
    with pytest.raises(errors.NotFound):
        await env.store.get(v1alpha1.Credential, "default", "ssh-lab")
    await env.create(credential("ssh", {"user": "ops", "stateDir": "/srv/orbit"}))
    with pytest.raises(errors.Invalid) as refused:
        await env.create(credential("k3d", {"timeoutSeconds": 0}))
    assert list(causes(refused)) == ["spec.config.timeoutSeconds"]
