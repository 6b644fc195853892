"""The sim provider: desired cluster -> plane request, plane view -> Observation, faults."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    Provider,
    ProviderPermanentError,
    ProviderTransientError,
)
from orbit.providers.sim import SimProvider, to_spec
from orbit.simplane import SimPlane

from .conftest import LATENCY, REF, V1, FakeClock, credential, desired


def test_sim_provider_satisfies_the_protocol(provider: SimProvider) -> None:
    typed: Provider = provider
    assert typed.name == "sim"


def test_desired_cluster_maps_to_a_plane_request() -> None:
    spec = to_spec(desired(workers=3), credential(nodeQuota=10))
    assert (spec.uid, spec.namespace, spec.name) == (REF.uid, "team-a", "alpha")
    assert spec.kubernetes_version == V1
    assert (spec.control_plane_count, spec.control_plane_size) == (1, "small")
    assert (spec.worker_count, spec.worker_size) == (3, "medium")
    assert spec.labels == {"env": "test"}
    assert spec.max_nodes == 10
    assert to_spec(desired(), credential()).max_nodes is None
    assert to_spec(desired(), credential(nodeQuota="7")).max_nodes == 7


@pytest.mark.parametrize("quota", ["lots", -1, 2.5, True])
def test_a_malformed_quota_is_permanent(quota: object) -> None:
    with pytest.raises(ProviderPermanentError, match="nodeQuota"):
        to_spec(desired(), credential(nodeQuota=quota))


async def test_ensure_observes_until_ready(provider: SimProvider, clock: FakeClock) -> None:
    cred = credential()
    assert await provider.observe(REF, cred) is None

    observation = await provider.ensure_cluster(desired(), cred)
    assert observation.ref == REF
    assert observation.infrastructure_ready
    assert observation.endpoint is not None
    assert observation.endpoint.endswith(f"/simplane/v1/clusters/{REF.uid}/k8s")
    assert observation.message == "provisioning 3 nodes"
    assert [n.role for n in observation.nodes] == ["control-plane", "worker", "worker"]
    assert not any(n.ready for n in observation.nodes)
    assert observation.group("worker")[0].machine_size == "medium"

    clock.advance(2 * LATENCY)
    observed = await provider.observe(REF, cred)
    assert observed is not None
    assert all(n.ready and n.kubernetes_version == V1 for n in observed.nodes)
    assert observed == await provider.ensure_cluster(desired(), cred)


async def test_delete_reports_what_remains(provider: SimProvider, clock: FakeClock) -> None:
    cred = credential()
    await provider.ensure_cluster(desired(workers=1), cred)
    deletion = await provider.delete_cluster(REF, cred)
    assert not deletion.gone
    assert deletion.remaining == ("alpha-cp-0", "alpha-worker-0")
    observed = await provider.observe(REF, cred)
    assert observed is not None
    assert not observed.infrastructure_ready

    clock.advance(LATENCY)
    assert (await provider.delete_cluster(REF, cred)).gone
    assert await provider.observe(REF, cred) is None
    unknown = ClusterRef(uid="never", namespace="team-a", name="ghost")
    assert (await provider.delete_cluster(unknown, cred)).gone


async def test_kubeconfig(provider: SimProvider) -> None:
    cred = credential()
    with pytest.raises(errors.NotFound):
        await provider.kubeconfig(REF, cred)
    await provider.ensure_cluster(desired(), cred)
    config = yaml.safe_load(await provider.kubeconfig(REF, cred))
    assert config["clusters"][0]["cluster"]["server"].endswith(f"{REF.uid}/k8s")
    assert config["users"][0]["user"]["token"]


async def test_quota_and_size_faults_are_permanent(provider: SimProvider) -> None:
    with pytest.raises(ProviderPermanentError, match="quota allows 2"):
        await provider.ensure_cluster(desired(workers=4), credential(nodeQuota=2))
    with pytest.raises(ProviderPermanentError, match="available sizes"):
        await provider.ensure_cluster(desired(worker_size="gigantic"), credential())
    assert await provider.observe(REF, credential()) is None


async def test_a_credential_for_another_provider_is_permanent(provider: SimProvider) -> None:
    with pytest.raises(ProviderPermanentError, match='not "sim"'):
        await provider.ensure_cluster(desired(), credential(provider="ssh"))


async def test_transient_faults_map_and_retries_converge(plane: SimPlane, clock: FakeClock) -> None:
    flaky = await SimPlane.open(replace(plane.settings, failure_rate=0.6, seed=11))
    provider = SimProvider(flaky)
    cred = credential()
    errors_seen = 0
    try:
        for _ in range(100):
            try:
                observation = await provider.ensure_cluster(desired(), cred)
            except ProviderTransientError:
                errors_seen += 1
            else:
                if all(n.ready for n in observation.nodes):
                    break
            clock.advance(LATENCY)
        assert errors_seen > 0
        clusters = await flaky.list_clusters()
        assert len(clusters) == 1
        assert all(n.ready for n in clusters[0].nodes)
    finally:
        await flaky.close()


def test_credential_helper_builds_a_valid_credential() -> None:
    cred = credential(nodeQuota=3)
    assert isinstance(cred, v1alpha1.Credential)
    assert cred.spec.config == {"nodeQuota": 3}
