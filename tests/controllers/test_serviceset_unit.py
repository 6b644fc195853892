"""The ServiceSet state machine on the real store, with a fake renderer and applier.

The applier here keeps "the cluster" in a dict; the real engine against a real Kubernetes API
is exercised in test_serviceset.py. Each test drives passes by calling ``reconcile`` directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ServiceState, SyncMode
from orbit.controllers.serviceset import ServiceSetReconciler
from orbit.controllers.serviceset import status as st
from orbit.delivery import engine, health
from orbit.delivery import inventory as inv
from orbit.delivery.kubeclient import DeliveryError, KubeClient
from orbit.delivery.render import ClusterContext, RenderError, SourceUnavailable
from orbit.errors import NotFound
from orbit.runtime.controller import Request
from orbit.runtime.events import EventRecorder
from orbit.store import SqlStore

NS = "default"
SET = "c1-cluster"


def cm(name: str, value: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }


class FakeRenderer:
    def __init__(self) -> None:
        self.manifests: dict[str, list[dict[str, Any]]] = {}
        self.errors: dict[str, Exception] = {}

    async def __call__(
        self,
        template: v1alpha1.ServiceTemplate,
        *,
        values: dict[str, Any],
        cluster: ClusterContext,
        namespace: str,
        cache_dir: Path,
        release: str | None = None,
    ) -> list[dict[str, Any]]:
        name = template.metadata.name
        if name in self.errors:
            raise self.errors[name]
        out = []
        for m in self.manifests[name]:
            m = {**m, "metadata": {**m["metadata"], "namespace": namespace}}
            out.append(m)
        return out


class FakeApplier:
    """A cluster in a dict; ``unhealthy`` names objects whose health is bad."""

    def __init__(self) -> None:
        self.objects: dict[inv.Identity, dict[str, Any]] = {}
        self.unhealthy: set[str] = set()
        self.applies: list[tuple[str, bool]] = []
        self.fail: DeliveryError | None = None
        self.attempts = 0

    async def prepare(
        self,
        client: KubeClient,
        manifests: Sequence[Mapping[str, Any]],
        *,
        set_name: str,
        service: v1alpha1.Service,
    ) -> list[dict[str, Any]]:
        return [dict(m) for m in manifests]

    async def deliver(
        self,
        client: KubeClient,
        *,
        set_name: str,
        service: v1alpha1.Service,
        manifests: list[dict[str, Any]],
        previous: list[v1alpha1.InventoryItem],
        force: bool = False,
    ) -> engine.DeliveryResult:
        self.attempts += 1
        if self.fail is not None:
            raise self.fail
        self.applies.append((service.name, force))
        for m in manifests:
            self.objects[inv.manifest_identity(m)] = dict(m)
        new = inv.build(manifests)
        pruned = inv.to_prune(previous, new)
        for item in pruned:
            self.objects.pop(inv.identity(item), None)
        verdict = self._health(new)
        return engine.DeliveryResult(new, new, pruned, *verdict)

    def _health(self, items: Sequence[v1alpha1.InventoryItem]) -> health.Health:
        return health.summarize(
            (
                inv.describe(i),
                health.Health(False, "Unschedulable", "no room")
                if i.name in self.unhealthy
                else health.OK,
            )
            for i in items
        )

    async def observe(
        self,
        client: KubeClient,
        inventory: Sequence[v1alpha1.InventoryItem],
        *,
        applied: Sequence[Mapping[str, Any]] | None = None,
    ) -> engine.Observation:
        by_id = {inv.manifest_identity(m): m for m in applied or ()}
        drift = []
        for item in inventory:
            live = self.objects.get(inv.identity(item))
            if live is None:
                if applied is not None:
                    drift.append(engine.Drift(item, "missing"))
            elif inv.identity(item) in by_id and by_id[inv.identity(item)] != live:
                drift.append(engine.Drift(item, "changed", "data.v"))
        return engine.Observation(self._health(inventory), drift)

    async def remove(
        self,
        client: KubeClient,
        *,
        set_name: str,
        inventory: Sequence[v1alpha1.InventoryItem],
    ) -> list[v1alpha1.InventoryItem]:
        for item in inventory:
            self.objects.pop(inv.identity(item), None)
        return []


class FakeClients:
    def __init__(self) -> None:
        self.invalidated: list[str] = []

    async def get(
        self, cluster: v1alpha1.ClusterDeployment, credential: v1alpha1.Credential
    ) -> KubeClient:
        return cast(KubeClient, object())

    async def invalidate(self, uid: str) -> None:
        self.invalidated.append(uid)


class Env:
    def __init__(self, store: SqlStore, tmp_path: Path) -> None:
        self.store = store
        self.render = FakeRenderer()
        self.applier = FakeApplier()
        self.clients = FakeClients()
        self.reconciler = ServiceSetReconciler(
            store,
            clients=self.clients,
            recorder=EventRecorder(store, component="serviceset-controller"),
            cache_dir=tmp_path,
            render=self.render,
            applier=self.applier,
        )

    async def template(self, name: str, *manifests: dict[str, Any]) -> None:
        self.render.manifests[name] = list(manifests)
        await self.store.create(
            v1alpha1.ServiceTemplate(
                metadata=v1alpha1.ObjectMeta(name=name, namespace=NS),
                spec=v1alpha1.ServiceTemplateSpec(version="1", resources="-"),
            )
        )

    async def cluster(self, phase: v1alpha1.Phase = v1alpha1.Phase.READY) -> None:
        created = await self.store.create(
            v1alpha1.ClusterDeployment(
                metadata=v1alpha1.ObjectMeta(name="c1", namespace=NS),
                spec=v1alpha1.ClusterDeploymentSpec(template="t", credential="sim"),
            )
        )
        created.status.phase = phase
        await self.store.update_status(created)

    async def set_phase(self, phase: v1alpha1.Phase) -> None:
        cluster = await self.store.get(v1alpha1.ClusterDeployment, NS, "c1")
        cluster.status.phase = phase
        await self.store.update_status(cluster)

    async def sset(self, *services: v1alpha1.Service) -> v1alpha1.ServiceSet:
        spec = v1alpha1.ServiceSetSpec(
            cluster="c1",
            owner=v1alpha1.OwnerRef(kind="ClusterDeployment", name="c1"),
            services=list(services),
        )
        try:
            current = await self.get()
        except NotFound:
            return await self.store.create(
                v1alpha1.ServiceSet(metadata=v1alpha1.ObjectMeta(name=SET, namespace=NS), spec=spec)
            )
        current.spec = spec
        return await self.store.update(current)

    async def get(self) -> v1alpha1.ServiceSet:
        return await self.store.get(v1alpha1.ServiceSet, NS, SET)

    async def reconcile(self) -> v1alpha1.ServiceSet:
        await self.reconciler.reconcile(Request("ServiceSet", NS, SET))
        return await self.get()

    async def service(self, name: str) -> v1alpha1.ServiceStatus:
        found = [s for s in (await self.get()).status.services if s.name == name]
        assert found, f"no status for {name}"
        return found[0]

    async def reasons(self) -> list[str]:
        return [e.reason for e in (await self.store.list(v1alpha1.Event, NS)).items]


@pytest.fixture
async def env(store: SqlStore, tmp_path: Path) -> Env:
    await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=NS)))
    await store.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="sim", namespace=NS),
            spec=v1alpha1.CredentialSpec(provider="sim"),
        )
    )
    return Env(store, tmp_path)


def svc(name: str, template: str, **kw: Any) -> v1alpha1.Service:
    return v1alpha1.Service(name=name, template=template, **kw)


async def test_deploys_and_records_inventory_hash_and_event(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"), cm("b"))
    await env.sset(svc("web", "t1"))
    sset = await env.reconcile()
    assert v1alpha1.SERVICESET_FINALIZER in sset.metadata.finalizers
    (web,) = sset.status.services
    assert (web.state, web.healthy) == (ServiceState.DEPLOYED, True)
    assert [i.name for i in web.inventory] == ["a", "b"]
    rendered = [{**m, "metadata": {**m["metadata"], "namespace": NS}} for m in (cm("a"), cm("b"))]
    assert web.applied_hash == inv.desired_hash("t1", rendered)
    assert sset.status.observed_generation == sset.metadata.generation
    ready = v1alpha1.get_condition(sset.status.conditions, "Ready")
    assert ready is not None and ready.status == "True"
    assert "Deployed" in await env.reasons()
    # a second pass with nothing new neither re-applies nor rewrites the status
    before = sset.metadata.resource_version
    again = await env.reconcile()
    assert env.applier.applies == [("web", False)]
    assert again.metadata.resource_version == before


async def test_cluster_not_ready_keeps_every_service_pending(env: Env) -> None:
    await env.cluster(v1alpha1.Phase.PROVISIONING)
    await env.template("t1", cm("a"))
    await env.sset(svc("web", "t1"))
    (web,) = (await env.reconcile()).status.services
    assert (web.state, web.reason) == (ServiceState.PENDING, st.CLUSTER_NOT_READY)
    assert env.applier.applies == []
    await env.set_phase(v1alpha1.Phase.READY)
    (web,) = (await env.reconcile()).status.services
    assert web.state == ServiceState.DEPLOYED


async def test_dependency_waits_until_deployed_and_healthy(env: Env) -> None:
    await env.cluster()
    await env.template("db", cm("db"))
    await env.template("app", cm("app"))
    env.applier.unhealthy.add("db")
    # listed first, but depends on db: db is applied first
    await env.sset(svc("app", "app", depends_on=["db"]), svc("db", "db"))
    await env.reconcile()
    app, db = await env.service("app"), await env.service("db")
    assert (db.state, db.reason) == (ServiceState.DEPLOYING, "Unschedulable")
    assert (app.state, app.reason) == (ServiceState.PENDING, st.WAITING_FOR_DEPENDENCY)
    assert "'db'" in app.message
    env.applier.unhealthy.clear()
    await env.reconcile()
    assert (await env.service("db")).state == ServiceState.DEPLOYED
    assert (await env.service("app")).state == ServiceState.DEPLOYED
    assert [name for name, _ in env.applier.applies] == ["db", "app"]


async def test_render_error_and_unavailable_source_fail_with_reason(env: Env) -> None:
    await env.cluster()
    await env.template("bad", cm("a"))
    await env.template("helm", cm("b"))
    env.render.errors["bad"] = RenderError("unexpected '}'", line=3)
    env.render.errors["helm"] = SourceUnavailable("the helm binary is not installed")
    await env.sset(svc("x", "bad"), svc("y", "helm"), svc("z", "missing"))
    await env.reconcile()
    x, y, z = [await env.service(n) for n in "xyz"]
    assert (x.state, x.reason) == (ServiceState.FAILED, st.RENDER_FAILED)
    assert "line 3" in x.message
    assert (y.state, y.reason) == (ServiceState.FAILED, st.SOURCE_UNAVAILABLE)
    assert "helm" in y.message
    assert (z.state, z.reason) == (ServiceState.FAILED, st.TEMPLATE_NOT_FOUND)
    assert "Failed" in await env.reasons()
    # fixed: retried on the next pass
    del env.render.errors["bad"]
    await env.reconcile()
    assert (await env.service("x")).state == ServiceState.DEPLOYED


async def test_one_time_is_applied_once(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"))
    await env.template("t2", cm("a", "2"))
    await env.sset(svc("once", "t1", sync_mode=SyncMode.ONE_TIME))
    await env.reconcile()
    await env.sset(svc("once", "t2", sync_mode=SyncMode.ONE_TIME))
    env.applier.objects.clear()  # deleted by hand: OneTime never looks again
    once = await env.service("once")
    await env.reconcile()
    after = await env.service("once")
    assert env.applier.applies == [("once", False)]
    assert (after.state, after.template, after.applied_hash) == (
        ServiceState.DEPLOYED,
        "t1",
        once.applied_hash,
    )


async def test_continuous_reports_drift_and_detection_mode_corrects_it(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"))
    await env.template("t2", cm("b"))
    await env.sset(
        svc("cont", "t1", sync_mode=SyncMode.CONTINUOUS),
        svc("fix", "t2", sync_mode=SyncMode.CONTINUOUS_WITH_DRIFT_DETECTION),
    )
    await env.reconcile()
    env.applier.objects.clear()
    await env.reconcile()
    cont, fix = await env.service("cont"), await env.service("fix")
    assert (cont.state, cont.reason) == (ServiceState.DRIFTED, st.OBJECTS_MISSING)
    assert "ConfigMap default/a (deleted)" in cont.message
    assert fix.state == ServiceState.DEPLOYED
    assert ("fix", True) in env.applier.applies
    events = (await env.store.list(v1alpha1.Event, NS)).items
    corrected = [e for e in events if e.reason == "DriftCorrected"]
    assert corrected and "ConfigMap default/b" in corrected[0].message
    assert "Drifted" in {e.reason for e in events}


async def test_removed_service_is_removed_then_dropped(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"))
    await env.template("t2", cm("b"))
    await env.sset(svc("keep", "t1"), svc("drop", "t2"))
    await env.reconcile()
    await env.sset(svc("keep", "t1"))
    sset = await env.reconcile()
    assert [s.name for s in sset.status.services] == ["keep"]
    assert list(env.applier.objects) == [("", "ConfigMap", "default", "a")]
    assert "Removed" in await env.reasons()


async def test_transient_error_keeps_state_and_retries(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"))
    await env.template("t2", cm("a", "2"))
    await env.sset(svc("web", "t1"))
    await env.reconcile()
    await env.sset(svc("web", "t2"))
    env.applier.fail = DeliveryError("ClusterUnreachable", "connection refused", transient=True)
    with pytest.raises(DeliveryError):
        await env.reconcile()
    web = await env.service("web")
    assert (web.state, web.reason) == (ServiceState.DEPLOYED, "ClusterUnreachable")
    env.applier.fail = DeliveryError("Unauthorized", "bad token", code=401, transient=True)
    with pytest.raises(DeliveryError):
        await env.reconcile()
    cluster = await env.store.get(v1alpha1.ClusterDeployment, NS, "c1")
    assert env.clients.invalidated == [cluster.metadata.uid]
    env.applier.fail = None
    web = (await env.reconcile()).status.services[0]
    assert (web.state, web.reason, web.template) == (ServiceState.DEPLOYED, "", "t2")


async def test_unreachable_cluster_costs_one_attempt_per_pass(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"))
    await env.template("t2", cm("b"))
    await env.sset(svc("one", "t1"), svc("two", "t2"))
    env.applier.fail = DeliveryError("ClusterUnreachable", "connection refused", transient=True)
    with pytest.raises(DeliveryError):
        await env.reconcile()
    assert env.applier.attempts == 1
    states = [(s.name, s.state, s.reason) for s in (await env.get()).status.services]
    assert states == [
        ("one", ServiceState.PENDING, "ClusterUnreachable"),
        ("two", ServiceState.PENDING, "ClusterUnreachable"),
    ]


async def test_deleting_set_removes_everything_then_goes(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"), cm("b"))
    await env.sset(svc("web", "t1"))
    await env.reconcile()
    await env.store.delete(v1alpha1.ServiceSet, NS, SET)
    await env.reconciler.reconcile(Request("ServiceSet", NS, SET))
    with pytest.raises(NotFound):
        await env.get()
    assert env.applier.objects == {}


async def test_deleting_set_of_a_gone_cluster_lets_go_without_touching_it(env: Env) -> None:
    await env.cluster()
    await env.template("t1", cm("a"))
    await env.sset(svc("web", "t1"))
    await env.reconcile()
    await env.store.delete(v1alpha1.ClusterDeployment, NS, "c1")
    await env.store.delete(v1alpha1.ServiceSet, NS, SET)
    await env.reconciler.reconcile(Request("ServiceSet", NS, SET))
    with pytest.raises(NotFound):
        await env.get()
    assert len(env.applier.objects) == 1  # left for the cluster's teardown


# -- pure rules ------------------------------------------------------------------------------


def test_dependency_order_is_stable_and_puts_dependencies_first() -> None:
    services = [
        svc("c", "t", depends_on=["b"]),
        svc("a", "t"),
        svc("b", "t", depends_on=["a"]),
        svc("d", "t"),
    ]
    assert [s.name for s in st.dependency_order(services)] == ["a", "b", "c", "d"]


def test_transition_events() -> None:
    base = v1alpha1.ServiceStatus(name="x", template="t", namespace="n")
    deployed = base.model_copy(update={"state": ServiceState.DEPLOYED, "healthy": True})
    assert [e[1] for e in st.transition_events(base, deployed)] == ["Deployed"]
    assert st.transition_events(deployed, deployed) == []
    failed = st.with_state(base, ServiceState.FAILED, "Conflict", "a")
    assert [e[1] for e in st.transition_events(deployed, failed)] == ["Failed"]
    assert st.transition_events(failed, failed) == []
    again = st.with_state(base, ServiceState.FAILED, "Conflict", "b")
    assert [e[1] for e in st.transition_events(failed, again)] == ["Failed"]
    drifted = st.with_state(base, ServiceState.DRIFTED, "ObjectsMissing", "ConfigMap n/a")
    assert st.transition_events(deployed, drifted)[0][:2] == ("Warning", "Drifted")


def test_requeue_policy() -> None:
    base = v1alpha1.ServiceStatus(name="x", template="t", namespace="n")
    deployed = base.model_copy(update={"state": ServiceState.DEPLOYED, "healthy": True})
    one_time = deployed.model_copy(update={"sync_mode": SyncMode.ONE_TIME})
    kw = {"poll": 1.0, "retry": 10.0, "drift": 30.0}
    assert st.requeue_after([one_time], **kw) is None
    assert st.requeue_after([deployed], **kw) == 30.0
    failed = one_time.model_copy(update={"state": ServiceState.FAILED})
    assert st.requeue_after([one_time, failed], **kw) == 10.0
    deploying = one_time.model_copy(update={"state": ServiceState.DEPLOYING})
    assert st.requeue_after([failed, deploying], **kw) == 1.0
