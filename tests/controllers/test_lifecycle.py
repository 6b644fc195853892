"""The ClusterDeployment controller against the real store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from orbit import catalog
from orbit.api import v1alpha1
from orbit.controllers.clusterdeployment import ClusterDeploymentReconciler
from orbit.errors import NotFound
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.runtime.events import EventRecorder
from orbit.runtime.reconcile import Request
from orbit.simplane import SimPlane, SimPlaneSettings
from orbit.store import SqlStore
from tests.controllers.conftest import STEP, FakeClock, Fleet

V1, V2 = "v1.30.6+k3s1", "v1.31.2+k3s1"


def cond(cluster: v1alpha1.ClusterDeployment, type_: str) -> v1alpha1.Condition:
    found = v1alpha1.get_condition(cluster.status.conditions, type_)
    assert found is not None, f"no {type_} condition in {cluster.status.conditions}"
    return found


async def test_provision_to_ready(fleet: Fleet) -> None:
    await fleet.create("alpha", "sim-ha-1-0-0", workers=2)
    cluster = await fleet.wait_settled("alpha")
    st = cluster.status
    assert (st.nodes.ready, st.nodes.total) == (5, 5)
    assert st.nodes.versions == {V1: 5}
    assert st.kubernetes_version == V1
    assert st.endpoint and cluster.metadata.uid and cluster.metadata.uid in st.endpoint
    assert st.available_upgrades == ["sim-ha-1-1-0"]
    assert st.template == "sim-ha-1-0-0"
    for type_ in (
        "TemplateValid",
        "CredentialValid",
        "InfrastructureReady",
        "ControlPlaneReady",
        "WorkersReady",
        "Ready",
    ):
        assert cond(cluster, type_).status == "True"
    assert v1alpha1.FINALIZER in cluster.metadata.finalizers
    reasons = {e.reason for e in await fleet.events("alpha")}
    assert {"Provisioning", "Ready"} <= reasons


async def test_scale_up_and_down(fleet: Fleet) -> None:
    await fleet.create("beta", workers=1)
    await fleet.wait_settled("beta")
    await fleet.patch("beta", config={"workers": 3})
    cluster = await fleet.wait_settled("beta")
    workers = [n for n in cluster.status.nodes.items if n.role == "worker"]
    assert len(workers) == 3 and all(n.ready for n in workers)
    await fleet.patch("beta", config={"workers": 1})
    cluster = await fleet.wait_settled("beta")
    assert [n.role for n in cluster.status.nodes.items].count("worker") == 1
    assert "Scaling" in {e.reason for e in await fleet.events("beta")}


@pytest.mark.parametrize("sim_clock", [FakeClock()])
async def test_upgrade_one_node_at_a_time_with_progress(fleet: Fleet, sim_clock: FakeClock) -> None:
    await fleet.create("gamma", "sim-ha-1-0-0", workers=1)
    await fleet.wait("gamma", lambda c: c.status.nodes.total == 4, what="nodes provisioning")
    sim_clock.advance(3 * STEP)  # the first server, then the others join
    await fleet.wait_settled("gamma")
    await fleet.patch("gamma", template="sim-ha-1-1-0")
    for step in range(1, 5):
        # exactly one node is being upgraded: the rest run, on one version or the other
        updating = await fleet.wait(
            "gamma",
            lambda c, step=step: (
                c.status.phase == "Updating" and f"({step}/4)" in (c.status.message or "")
            ),
            what=f"node {step}/4 upgrading",
        )
        assert updating.status.nodes.total - updating.status.nodes.ready == 1
        assert sum(updating.status.nodes.versions.values()) == 4
        assert updating.status.nodes.versions.get(V2, 0) == step - 1
        sim_clock.advance(STEP)
    cluster = await fleet.wait_settled("gamma")
    assert cluster.status.nodes.versions == {V2: 4}
    assert cluster.status.template == "sim-ha-1-1-0"
    assert cluster.status.available_upgrades == []
    assert "Upgrading" in {e.reason for e in await fleet.events("gamma")}


async def test_ttl_expiry_tears_down_and_leaves_an_event(fleet: Fleet) -> None:
    created = await fleet.create("short", ttl="1s")
    uid = created.metadata.uid or ""
    await fleet.wait("short", lambda c: c.status.expires_at is not None, what="expiresAt in status")
    for _ in range(400):
        try:
            await fleet.get("short")
        except NotFound:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("expired cluster still exists")
    expired = [e for e in await fleet.events("short") if e.reason == "Expired"]
    assert expired and "ttl 1s" in expired[0].message and expired[0].type == "Warning"
    assert await fleet.sim.get_cluster(uid) is None


async def test_delete_tears_down_at_the_provider_first(fleet: Fleet) -> None:
    created = await fleet.create("delta")
    await fleet.wait_settled("delta")
    uid = created.metadata.uid or ""
    assert await fleet.sim.get_cluster(uid) is not None
    await fleet.store.delete(v1alpha1.ClusterDeployment, "default", "delta")
    for _ in range(400):
        try:
            cluster = await fleet.get("delta")
        except NotFound:
            break
        # while the object exists, its finalizer holds it until teardown is complete
        assert cluster.metadata.deletion_timestamp is not None
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("deleted cluster still exists")
    assert await fleet.sim.get_cluster(uid) is None
    assert "Deleted" in {e.reason for e in await fleet.events("delta")}


async def test_permanent_failure_is_failed_with_its_message_and_recovers(fleet: Fleet) -> None:
    await fleet.store.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="tiny", namespace="default"),
            spec=v1alpha1.CredentialSpec(provider="sim", config={"nodeQuota": 2}),
        )
    )
    await fleet.create("eps", credential="tiny", workers=3)
    failed = await fleet.wait_settled("eps", phase="Failed")
    ready = cond(failed, "Ready")
    assert ready.status == "False" and ready.reason == "ProviderFailed"
    assert "quota" in ready.message
    assert cond(failed, "Stalled").status == "True"
    assert "ProviderFailed" in {e.reason for e in await fleet.events("eps")}
    # a person acts on the message: fewer workers, and the cluster recovers
    await fleet.patch("eps", config={"workers": 1})
    recovered = await fleet.wait_settled("eps")
    assert v1alpha1.get_condition(recovered.status.conditions, "Stalled") is None


async def test_transient_faults_are_retried_and_nothing_duplicates(fleet: Fleet) -> None:
    fleet.sim.configure_faults(failure_rate=0.3, seed=11)
    names = [f"f{i:02d}" for i in range(12)]
    for name in names:
        await fleet.create(name, workers=1)
    for name in names:
        await fleet.wait_settled(name, timeout=120)
    clusters = await fleet.sim.list_clusters()
    assert sorted(c.name for c in clusters) == names


async def test_missing_template_blocks_until_it_appears(fleet: Fleet) -> None:
    # Bypass admission (as a restore from backup might): the controller must cope.
    await fleet.store.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="orphan", namespace="default"),
            spec=v1alpha1.ClusterDeploymentSpec(template="later-1-0-0", credential="sim"),
        )
    )
    blocked = await fleet.wait(
        "orphan",
        lambda c: (
            (
                v1alpha1.get_condition(c.status.conditions, "TemplateValid")
                or v1alpha1.Condition(type="x", status="Unknown")
            ).reason
            == "TemplateNotFound"
        ),
        what="TemplateNotFound",
    )
    assert blocked.status.phase in ("Pending", "Provisioning")
    template = await fleet.store.get(v1alpha1.ClusterTemplate, "default", "sim-single-1-0-0")
    await fleet.store.create(
        v1alpha1.ClusterTemplate(
            metadata=v1alpha1.ObjectMeta(name="later-1-0-0", namespace="default"),
            spec=template.spec,
        )
    )
    await fleet.wait_settled("orphan", timeout=20)  # woken by the template, not a 30 s retry


class _Spy(SimProvider):
    """The sim provider, counting calls; ``degrade`` hides one node from the next observe."""

    def __init__(self, plane: SimPlane) -> None:
        super().__init__(plane)
        self.ensured = 0
        self.observed = 0
        self.degrade = False

    async def ensure_cluster(self, cluster: Any, credential: Any) -> Any:
        self.ensured += 1
        return await super().ensure_cluster(cluster, credential)

    async def observe(self, ref: Any, credential: Any) -> Any:
        self.observed += 1
        obs = await super().observe(ref, credential)
        if self.degrade and obs is not None:
            self.degrade = False
            return dataclasses.replace(obs, nodes=obs.nodes[:-1])
        return obs


async def test_a_healthy_ready_cluster_is_observed_not_converged(
    store: SqlStore, tmp_path: Path
) -> None:
    sim = await SimPlane.open(SimPlaneSettings(database_url=str(tmp_path / "s.db"), node_latency=0))
    try:
        spy = _Spy(sim)
        providers = ProviderRegistry()
        providers.register(spy)
        await catalog.install(store)
        reconciler = ClusterDeploymentReconciler(
            store, providers=providers, recorder=EventRecorder(store, component="test")
        )
        await store.create(
            v1alpha1.ClusterDeployment(
                metadata=v1alpha1.ObjectMeta(name="c", namespace="default"),
                spec=v1alpha1.ClusterDeploymentSpec(
                    template="sim-single-1-0-0", credential="sim", config={"workers": 1}
                ),
            )
        )
        request = Request("ClusterDeployment", "default", "c")
        for _ in range(10):  # bounded: zero latency converges in a few passes
            await reconciler.reconcile(request)
            cluster = await store.get(v1alpha1.ClusterDeployment, "default", "c")
            if cluster.status.phase == v1alpha1.Phase.READY:
                break
        assert cluster.status.phase == v1alpha1.Phase.READY
        spy.ensured = spy.observed = 0

        result = await reconciler.reconcile(request)  # the Ready recheck
        assert (spy.observed, spy.ensured) == (1, 0)  # a read, no converge
        assert result.requeue_after == 60.0  # the default ready_recheck

        spy.degrade = True  # a node is missing from what the provider sees
        await reconciler.reconcile(request)
        assert (spy.observed, spy.ensured) == (2, 1)  # so the pass converges
        cluster = await store.get(v1alpha1.ClusterDeployment, "default", "c")
        assert cluster.status.phase == v1alpha1.Phase.READY

        # A process allowed 0.01 checks a second spaces even one cluster's checks to ~100 s.
        paced = ClusterDeploymentReconciler(
            store,
            providers=providers,
            recorder=EventRecorder(store, component="test"),
            ready_recheck=60.0,
            ready_recheck_rate=0.01,
        )
        assert 90.0 <= (await paced.reconcile(request)).requeue_after <= 110.0
    finally:
        await sim.close()
