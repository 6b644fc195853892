"""The ``capi`` provider against a simulated management cluster: the objects it applies, the
readiness it reads back, scaling and upgrading in place, the kubeconfig Secret, deletion, and
the errors of a management cluster that cannot do the job."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from typing import Any

import pytest
import yaml
from lightkube import AsyncClient, KubeConfig
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    DesiredCluster,
    Observation,
    ProviderPermanentError,
    ProviderTransientError,
)
from orbit.providers.capi import CapiProvider, render
from orbit.providers.contract import converged

from . import fakecapi
from .conftest import NAMESPACE, V1, V2, Management, credential
from .test_contract_capi import DOCKER_K3S

pytestmark = pytest.mark.slow  # a simulated management cluster, end to end


REF = ClusterRef(uid="9d2f0a4c-capi", namespace="team-a", name="web")
STEPS = 30

KINDS = [
    ("infrastructure.cluster.x-k8s.io/v1beta1", "DockerCluster"),
    ("infrastructure.cluster.x-k8s.io/v1beta1", "DockerMachineTemplate"),
    ("bootstrap.cluster.x-k8s.io/v1beta2", "KThreesConfigTemplate"),
    ("controlplane.cluster.x-k8s.io/v1beta2", "KThreesControlPlane"),
    ("cluster.x-k8s.io/v1beta1", "Cluster"),
    ("cluster.x-k8s.io/v1beta1", "MachineDeployment"),
]
PLURALS = {
    "DockerMachineTemplate": "dockermachinetemplates",
    "KThreesConfigTemplate": "kthreesconfigtemplates",
    **fakecapi.PLURALS,
}


def desired(*, workers: int = 1, version: str = V1) -> DesiredCluster:
    return DesiredCluster(
        ref=REF,
        kubernetes_version=version,
        control_plane=v1alpha1.MachineGroup(count=1, machine_size="small"),
        workers=v1alpha1.MachineGroup(count=workers, machine_size="small"),
        labels={"team": "web"},
        provider_spec=DOCKER_K3S,
    )


async def objects(m: Management) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object labelled with REF's uid, by (kind, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for api_version, kind in KINDS:
        group, _, version = api_version.rpartition("/")
        cls = fakecapi.create_namespaced_resource(group, version, kind, PLURALS[kind])
        async for obj in m.client.list(
            cls, namespace=NAMESPACE, labels={render.LABEL_UID: REF.uid}
        ):
            found[(kind, obj.metadata.name)] = fakecapi.plain(obj)
    return found


def sized(obs: Observation, want: DesiredCluster) -> bool:
    """Every node is of its group's machine size (``converged`` does not look at sizes)."""
    sizes = {"control-plane": want.control_plane.machine_size, "worker": want.workers.machine_size}
    return all(n.machine_size == sizes[n.role] for n in obs.nodes)


async def converge(
    provider: CapiProvider, m: Management, want: DesiredCluster, capi: fakecapi.FakeCapi
) -> Observation:
    cred = credential(m.kubeconfig)
    obs = await provider.ensure_cluster(want, cred)
    for _ in range(STEPS):
        if converged(obs, want) and sized(obs, want):
            return obs
        await capi.step()
        obs = await provider.ensure_cluster(want, cred)
    raise AssertionError(f"not converged in {STEPS} steps: {obs}")


async def test_creates_the_objects_and_is_ready_only_when_their_status_says(
    management: Management,
) -> None:
    provider, cred = CapiProvider(), credential(management.kubeconfig)
    obs = await provider.ensure_cluster(desired(), cred)
    assert obs.nodes == () and not obs.infrastructure_ready
    assert "waiting for InfrastructureReady" in obs.message

    live = await objects(management)
    name = render.names(REF).cluster
    assert Counter(kind for kind, _ in live) == {
        "DockerCluster": 1,
        "DockerMachineTemplate": 2,  # the control plane's and the workers'
        "KThreesConfigTemplate": 1,
        "KThreesControlPlane": 1,
        "Cluster": 1,
        "MachineDeployment": 1,
    }
    cluster = live[("Cluster", name)]
    assert cluster["metadata"]["labels"]["team"] == "web"
    assert cluster["metadata"]["labels"][render.LABEL_CLUSTER] == "web"
    assert cluster["spec"]["controlPlaneRef"]["name"] == f"{name}-control-plane"
    cp = live[("KThreesControlPlane", f"{name}-control-plane")]
    assert (cp["spec"]["replicas"], cp["spec"]["version"]) == (1, V1)
    md = live[("MachineDeployment", f"{name}-md-0")]
    assert (md["spec"]["replicas"], md["spec"]["template"]["spec"]["version"]) == (1, V1)
    for obj in live.values():
        managers = {e["manager"] for e in obj["metadata"]["managedFields"]}
        assert managers == {"orbit"}

    # Machines come up, but the infrastructure is held back: not ready.
    held = management.capi(hold_infrastructure=True)
    for _ in range(6):
        await held.step()
    obs = await provider.ensure_cluster(desired(), cred)
    assert len(obs.nodes) == 2 and all(n.role for n in obs.nodes)
    assert not obs.infrastructure_ready
    assert all(n.ready for n in obs.nodes)  # the Machines say Ready...
    assert not converged(obs, desired())  # ...but the Cluster's infrastructure does not

    # Ready Machines of a control plane the Cluster does not call ready are not ready nodes.
    conditions = [{"type": "ControlPlaneReady", "status": "False", "reason": "Scaling"}]
    await management.client.patch(
        fakecapi.CLUSTER.Status,
        name,
        {"status": {"conditions": conditions}},
        namespace=NAMESPACE,
        patch_type=PatchType.MERGE,
    )
    obs = await provider.ensure_cluster(desired(), cred)
    assert [n.ready for n in obs.group("control-plane")] == [False]
    assert "ControlPlaneReady (Scaling)" in obs.message

    obs = await converge(provider, management, desired(), management.capi())
    assert obs.infrastructure_ready and obs.endpoint == "https://127.0.0.1:6443"
    assert {n.role for n in obs.nodes} == {"control-plane", "worker"}
    assert all(n.name.startswith("node-") and n.machine_size == "small" for n in obs.nodes)
    assert obs.message.startswith("Cluster Provisioned")
    assert await provider.observe(REF, cred) == obs


async def test_scale_and_upgrade_patch_the_objects_in_place(management: Management) -> None:
    provider, capi = CapiProvider(), management.capi()
    await converge(provider, management, desired(workers=1), capi)
    before = await objects(management)
    uids = {key: obj["metadata"]["uid"] for key, obj in before.items()}
    name = render.names(REF).cluster

    await provider.ensure_cluster(desired(workers=2), credential(management.kubeconfig))
    after = await objects(management)
    assert after[("MachineDeployment", f"{name}-md-0")]["spec"]["replicas"] == 2
    obs = await converge(provider, management, desired(workers=2), capi)
    assert len(obs.group("worker")) == 2
    after = await objects(management)
    assert {key: obj["metadata"]["uid"] for key, obj in after.items()} == uids

    # The control plane goes first; the workers keep V1 until it has rolled out.
    await provider.ensure_cluster(desired(workers=2, version=V2), credential(management.kubeconfig))
    after = await objects(management)
    assert after[("KThreesControlPlane", f"{name}-control-plane")]["spec"]["version"] == V2
    md = after[("MachineDeployment", f"{name}-md-0")]
    assert md["spec"]["template"]["spec"]["version"] == V1
    obs = await converge(provider, management, desired(workers=2, version=V2), capi)
    assert {n.kubernetes_version for n in obs.nodes} == {V2}
    after = await objects(management)
    md = after[("MachineDeployment", f"{name}-md-0")]
    assert md["spec"]["template"]["spec"]["version"] == V2
    assert {key: obj["metadata"]["uid"] for key, obj in after.items()} == uids

    await converge(provider, management, desired(workers=1, version=V2), capi)
    after = await objects(management)
    assert after[("MachineDeployment", f"{name}-md-0")]["spec"]["replicas"] == 1
    assert {key: obj["metadata"]["uid"] for key, obj in after.items()} == uids


async def test_a_new_machine_size_rotates_the_template(management: Management) -> None:
    provider, capi = CapiProvider(), management.capi()
    sized = {**DOCKER_K3S, "infrastructure": {"machineSizes": {"small": {}, "large": {"a": 1}}}}
    small = dataclasses.replace(desired(), provider_spec=sized)
    await converge(provider, management, small, capi)
    old = {k for k in await objects(management) if k[0] == "DockerMachineTemplate"}
    large = dataclasses.replace(small, workers=v1alpha1.MachineGroup(count=1, machine_size="large"))
    obs = await converge(provider, management, large, capi)
    assert {n.machine_size for n in obs.group("worker")} == {"large"}
    await provider.ensure_cluster(large, credential(management.kubeconfig))  # collects
    new = {k for k in await objects(management) if k[0] == "DockerMachineTemplate"}
    assert len(new) == 2 and len(new & old) == 1  # the workers' template was replaced


async def test_kubeconfig_is_the_clusters_secret(management: Management) -> None:
    provider, cred = CapiProvider(), credential(management.kubeconfig)
    with pytest.raises(errors.NotFound):
        await provider.kubeconfig(REF, cred)
    await provider.ensure_cluster(desired(), cred)
    with pytest.raises(ProviderTransientError, match="-kubeconfig is not there yet"):
        await provider.kubeconfig(REF, cred)
    await converge(provider, management, desired(), management.capi())
    data = await provider.kubeconfig(REF, cred)
    assert data == management.workload_kubeconfig
    workload = AsyncClient(KubeConfig.from_dict(yaml.safe_load(data)), trust_env=False)
    try:
        assert [n.metadata.name async for n in workload.list(Node)]
    finally:
        await workload.close()


async def test_delete_waits_for_the_cluster_and_its_machines(management: Management) -> None:
    provider, capi, cred = CapiProvider(), management.capi(), credential(management.kubeconfig)
    obs = await converge(provider, management, desired(), capi)
    name = render.names(REF).cluster
    first = await provider.delete_cluster(REF, cred)
    assert not first.gone
    assert f"Cluster/{name}" in first.remaining
    assert len([r for r in first.remaining if r.startswith("Machine/")]) == len(obs.nodes)
    with pytest.raises(ProviderTransientError, match="being deleted"):
        await provider.ensure_cluster(desired(), cred)  # not created again over a deleting one
    seen = [first]
    for _ in range(STEPS):
        if seen[-1].gone:
            break
        await capi.step()
        seen.append(await provider.delete_cluster(REF, cred))
    assert seen[-1].gone, seen
    # The Machines went first (CAPI's cascade), then the Cluster (its finalizer came off).
    assert seen[1].remaining == (f"Cluster/{name}",) and len(seen) == 3
    assert await objects(management) == {}  # templates too
    assert await provider.observe(REF, cred) is None


async def test_a_failed_cluster_is_permanent(management: Management) -> None:
    provider, cred = CapiProvider(), credential(management.kubeconfig)
    await provider.ensure_cluster(desired(), cred)
    name = render.names(REF).cluster
    status = {"failureReason": "InvalidConfiguration", "failureMessage": "no such AMI"}
    await management.client.patch(
        fakecapi.CLUSTER.Status,
        name,
        {"status": status},
        namespace=NAMESPACE,
        patch_type=PatchType.MERGE,
    )
    with pytest.raises(ProviderPermanentError, match="InvalidConfiguration: no such AMI"):
        await provider.ensure_cluster(desired(), cred)


async def test_a_management_cluster_without_cluster_api(bare_management: Management) -> None:
    await bare_management.namespace()
    provider, cred = CapiProvider(), credential(bare_management.kubeconfig)
    with pytest.raises(ProviderPermanentError) as caught:
        await provider.ensure_cluster(desired(), cred)
    message = str(caught.value)
    assert "does not serve" in message and "cluster.x-k8s.io/v1beta1/Cluster" in message
    assert "KThreesControlPlane" in message and "DockerCluster" in message
    assert "clusterctl init" in message
    for call in (provider.observe, provider.delete_cluster, provider.kubeconfig):
        with pytest.raises(ProviderPermanentError, match="does not serve"):
            await call(REF, cred)


async def test_a_missing_namespace_is_permanent(bare_management: Management) -> None:
    from .conftest import ALL_KINDS

    await bare_management.install(ALL_KINDS)
    with pytest.raises(ProviderPermanentError, match=f"create namespace {NAMESPACE}"):
        await CapiProvider().ensure_cluster(desired(), credential(bare_management.kubeconfig))


def _with_token(kubeconfig: bytes, token: str, server: str | None = None) -> str:
    doc = yaml.safe_load(kubeconfig)
    doc["users"][0]["user"]["token"] = token
    if server is not None:
        doc["clusters"][0]["cluster"]["server"] = server
    return yaml.safe_dump(doc)


async def test_errors_are_classified_and_never_show_the_kubeconfig(
    management: Management, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = CapiProvider(timeout=5)
    secret = "s3cr3t-token-never-shown"
    refused = credential(_with_token(management.kubeconfig, secret))
    with pytest.raises(ProviderPermanentError) as bad_token:
        await provider.ensure_cluster(desired(), refused)
    assert "401" in str(bad_token.value) and "update its secret 'kubeconfig'" in str(
        bad_token.value
    )

    unreachable = credential(
        _with_token(management.kubeconfig, secret, server="https://127.0.0.1:9/k8s")
    )
    with pytest.raises(ProviderTransientError) as down:
        await provider.observe(REF, unreachable)
    assert "unreachable" in str(down.value)

    garbage = credential(f"token: {secret}\n  : [unclosed")
    with pytest.raises(ProviderPermanentError) as unusable:
        await provider.observe(REF, garbage)
    assert "kubeconfig is unusable" in str(unusable.value)

    await converge(provider, management, desired(), management.capi())
    real_token = yaml.safe_load(management.kubeconfig)["users"][0]["user"]["token"]
    texts = [str(e.value) for e in (bad_token, down, unusable)]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        assert secret not in text and real_token not in text


@pytest.mark.parametrize(
    ("code", "transient"),
    [(409, True), (429, True), (500, True), (503, True), (401, False), (403, False), (422, False)],
)
async def test_http_statuses_map_to_transient_or_permanent(
    management: Management, code: int, transient: bool
) -> None:
    from orbit.providers import kube

    async with kube.session(management.kubeconfig, what="mgmt") as api:
        err = api._status_error(code, "message", "apply Cluster x/y")
    assert isinstance(err, ProviderTransientError if transient else ProviderPermanentError)
    assert "apply Cluster x/y" in str(err) and f"HTTP {code}" in str(err)
