"""The ServiceSet controller end to end: the real store, the real renderer, the real delivery
engine, and a simulated cluster's Kubernetes API over HTTP (the sim plane behind uvicorn)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ServiceState, SyncMode
from orbit.controllers.serviceset import ServiceSetReconciler, cluster_clients
from orbit.delivery import engine
from orbit.delivery.kubeclient import ClusterClients, KubeClient
from orbit.errors import NotFound
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.runtime.controller import Controller
from orbit.runtime.events import EventRecorder
from orbit.store import SqlStore
from tests.delivery.conftest_engine import Plane, eventually, plane  # noqa: F401

NS = "default"
SET = "alpha-cluster"

WEB_V1 = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{ replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          resources: {requests: {cpu: "{{ cpu }}", memory: 64Mi}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-settings
data:
  cluster: "{{ cluster.name }}"
"""

WEB_V2 = WEB_V1.split("---")[0]

PARAMETERS = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "default": 1},
        "cpu": {"type": "string", "default": "100m"},
    },
}


def configmap_only(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: '1'\n"


@dataclass
class Delivery:
    store: SqlStore
    plane: Plane
    kube: KubeClient
    clients: ClusterClients

    async def template(
        self, name: str, resources: str, parameters: dict[str, Any] | None = None
    ) -> None:
        await self.store.create(
            v1alpha1.ServiceTemplate(
                metadata=v1alpha1.ObjectMeta(name=name, namespace=NS),
                spec=v1alpha1.ServiceTemplateSpec(
                    version=name.rpartition("-")[2] or "1",
                    resources=resources,
                    parameters=parameters or {"type": "object"},
                ),
            )
        )

    async def apply_set(self, *services: v1alpha1.Service) -> None:
        spec = v1alpha1.ServiceSetSpec(
            cluster="alpha",
            owner=v1alpha1.OwnerRef(kind="ClusterDeployment", name="alpha"),
            services=list(services),
        )
        try:
            current = await self.get()
        except NotFound:
            await self.store.create(
                v1alpha1.ServiceSet(metadata=v1alpha1.ObjectMeta(name=SET, namespace=NS), spec=spec)
            )
            return
        current.spec = spec
        await self.store.update(current)

    async def get(self) -> v1alpha1.ServiceSet:
        return await self.store.get(v1alpha1.ServiceSet, NS, SET)

    async def wait_service(
        self,
        name: str,
        check: Callable[[v1alpha1.ServiceStatus], bool],
        *,
        what: str = "",
    ) -> v1alpha1.ServiceStatus:
        async def found() -> v1alpha1.ServiceStatus | None:
            sset = await self.get()
            if sset.status.observed_generation != sset.metadata.generation:
                return None
            hit = [s for s in sset.status.services if s.name == name]
            return hit[0] if hit and check(hit[0]) else None

        return await eventually(found, what=what or f"service {name}")

    async def deployed(self, name: str) -> v1alpha1.ServiceStatus:
        return await self.wait_service(
            name, lambda s: s.state == ServiceState.DEPLOYED and s.healthy, what=f"{name} Deployed"
        )

    async def events(self, reason: str) -> list[v1alpha1.Event]:
        items = (await self.store.list(v1alpha1.Event, NS)).items
        return [e for e in items if e.reason == reason and e.involved_object.name == SET]

    async def delete_by_hand(self, api_version: str, kind: str, name: str, ns: str) -> None:
        cls: Any = await self.kube.resource(api_version, kind)
        await self.kube.api.delete(cls, name, namespace=ns)


@pytest.fixture
async def delivery(
    store: SqlStore,
    plane: Plane,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Delivery]:
    await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=NS)))
    await store.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="sim", namespace=NS),
            spec=v1alpha1.CredentialSpec(provider="sim"),
        )
    )
    cluster = await store.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="alpha", namespace=NS, labels={"env": "test"}),
            spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="sim"),
        )
    )
    uid = cluster.metadata.uid or ""
    await plane.cluster("alpha", uid=uid, namespace=NS, workers=1)
    cluster.status.phase = v1alpha1.Phase.READY
    await store.update_status(cluster)

    clients = cluster_clients(ProviderRegistry([SimProvider(plane.sim)]))
    reconciler = ServiceSetReconciler(
        store,
        clients=clients,
        recorder=EventRecorder(store, component="serviceset-controller"),
        cache_dir=tmp_path / "cache",
        poll_interval=0.05,
        drift_interval=0.3,
        retry_interval=0.3,
    )
    controller = Controller(
        "serviceset",
        store=store,
        kind=v1alpha1.ServiceSet,
        reconciler=reconciler,
        watches=reconciler.watches(),
        workers=2,
        base_delay=0.02,
        max_delay=0.5,
    )
    kube = await plane.client(uid)
    await controller.start()
    try:
        yield Delivery(store=store, plane=plane, kube=kube, clients=clients)
    finally:
        await controller.stop()
        await clients.close()
        await kube.close()


def web(template: str = "web-1", **kw: Any) -> v1alpha1.Service:
    return v1alpha1.Service(name="web", template=template, namespace="apps", **kw)


async def test_delivers_a_deployment_and_a_configmap(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.apply_set(web())
    status = await delivery.deployed("web")
    assert sorted((i.kind, i.namespace, i.name) for i in status.inventory) == [
        ("ConfigMap", "apps", "web-settings"),
        ("Deployment", "apps", "web"),
    ]
    assert status.applied_hash and status.template == "web-1"
    settings = await delivery.kube.get("v1", "ConfigMap", "web-settings", "apps")
    assert settings is not None
    assert settings["data"] == {"cluster": "alpha"}
    assert settings["metadata"]["labels"][engine.LABEL_SERVICESET] == SET
    sset = await delivery.get()
    assert v1alpha1.SERVICESET_FINALIZER in sset.metadata.finalizers
    ready = v1alpha1.get_condition(sset.status.conditions, "Ready")
    assert ready is not None and ready.status == "True"
    assert await delivery.events("Deployed")
    # settled: drift checks every 0.3 s find nothing to fix and write nothing
    version = (await delivery.get()).metadata.resource_version
    await asyncio.sleep(1.0)
    assert (await delivery.get()).metadata.resource_version == version
    assert not await delivery.events("DriftCorrected")


async def test_new_version_without_the_configmap_prunes_it(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.template("web-2", WEB_V2, PARAMETERS)
    await delivery.apply_set(web())
    first = await delivery.deployed("web")
    await delivery.apply_set(web("web-2"))
    second = await delivery.wait_service(
        "web", lambda s: s.template == "web-2" and s.state == ServiceState.DEPLOYED
    )
    assert [i.kind for i in second.inventory] == ["Deployment"]
    assert second.applied_hash != first.applied_hash
    assert await delivery.kube.get("v1", "ConfigMap", "web-settings", "apps") is None
    assert await delivery.kube.get("apps/v1", "Deployment", "web", "apps") is not None


async def test_drift_is_corrected_with_an_event(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.apply_set(web(sync_mode=SyncMode.CONTINUOUS_WITH_DRIFT_DETECTION))
    await delivery.deployed("web")
    await delivery.delete_by_hand("v1", "ConfigMap", "web-settings", "apps")

    async def restored() -> bool:
        return await delivery.kube.get("v1", "ConfigMap", "web-settings", "apps") is not None

    await eventually(restored, what="ConfigMap restored")
    corrected = await eventually(lambda: delivery.events("DriftCorrected"), what="DriftCorrected")
    assert "ConfigMap apps/web-settings" in corrected[0].message
    await delivery.deployed("web")


async def test_continuous_reports_drift_and_leaves_it(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.apply_set(web(sync_mode=SyncMode.CONTINUOUS))
    await delivery.deployed("web")
    await delivery.delete_by_hand("v1", "ConfigMap", "web-settings", "apps")
    drifted = await delivery.wait_service("web", lambda s: s.state == ServiceState.DRIFTED)
    assert drifted.reason == "ObjectsMissing"
    assert "ConfigMap apps/web-settings" in drifted.message
    assert await delivery.events("Drifted")
    await asyncio.sleep(1.0)  # several drift intervals (0.3 s): still missing, still reported
    assert await delivery.kube.get("v1", "ConfigMap", "web-settings", "apps") is None
    assert not await delivery.events("DriftCorrected")
    assert (await delivery.get()).status.services[0].state == ServiceState.DRIFTED


async def test_one_time_is_not_re_applied(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.apply_set(web(sync_mode=SyncMode.ONE_TIME))
    first = await delivery.deployed("web")
    await delivery.delete_by_hand("v1", "ConfigMap", "web-settings", "apps")
    await delivery.apply_set(web(sync_mode=SyncMode.ONE_TIME, values={"replicas": 2}))
    await delivery.wait_service("web", lambda s: True)  # the new generation was looked at
    await asyncio.sleep(1.0)  # and a few more passes
    status = (await delivery.get()).status.services[0]
    assert (status.state, status.applied_hash) == (ServiceState.DEPLOYED, first.applied_hash)
    assert await delivery.kube.get("v1", "ConfigMap", "web-settings", "apps") is None
    live = await delivery.kube.get("apps/v1", "Deployment", "web", "apps")
    assert live is not None and live["spec"]["replicas"] == 1


async def test_depends_on_waits_and_unschedulable_is_the_reason(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.template("db-1", configmap_only("db-config"))
    await delivery.template("db-big-1", WEB_V2, PARAMETERS)
    db = v1alpha1.Service(name="db", template="db-big-1", namespace="data", values={"cpu": "64"})
    app = web(depends_on=["db"])
    await delivery.apply_set(app, db)
    stuck = await delivery.wait_service(
        "db", lambda s: s.reason == "Unschedulable", what="db Unschedulable"
    )
    assert stuck.state == ServiceState.DEPLOYING
    assert "cpu" in stuck.message
    waiting = (await delivery.get()).status.services[0]
    assert waiting.name == "web"
    assert (waiting.state, waiting.reason) == (ServiceState.PENDING, "WaitingForDependency")
    assert "'db'" in waiting.message
    assert await delivery.kube.get("apps/v1", "Deployment", "web", "apps") is None
    # the database fits now: it deploys, then the app follows
    await delivery.apply_set(app, db.model_copy(update={"values": {"cpu": "100m"}}))
    await delivery.deployed("db")
    await delivery.deployed("web")


async def test_removing_a_service_removes_exactly_its_objects(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.template("extra-1", configmap_only("extra"))
    extra = v1alpha1.Service(name="extra", template="extra-1", namespace="apps")
    await delivery.apply_set(web(), extra)
    await delivery.deployed("web")
    await delivery.deployed("extra")
    await delivery.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "by-hand", "namespace": "apps"},
        },
        field_manager="kubectl",
    )
    await delivery.apply_set(web())

    async def gone() -> bool:
        sset = await delivery.get()
        return [s.name for s in sset.status.services] == ["web"]

    await eventually(gone, what="extra dropped from status")
    assert await delivery.kube.get("v1", "ConfigMap", "extra", "apps") is None
    assert await delivery.kube.get("v1", "ConfigMap", "by-hand", "apps") is not None
    assert await delivery.kube.get("v1", "ConfigMap", "web-settings", "apps") is not None
    removed = await delivery.events("Removed")
    assert removed and "extra" in removed[0].message


async def test_deleting_the_set_removes_everything_it_applied(delivery: Delivery) -> None:
    await delivery.template("web-1", WEB_V1, PARAMETERS)
    await delivery.apply_set(web())
    await delivery.deployed("web")
    await delivery.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "by-hand", "namespace": "apps"},
        },
        field_manager="kubectl",
    )
    await delivery.store.delete(v1alpha1.ServiceSet, NS, SET)

    async def set_gone() -> bool:
        try:
            await delivery.get()
        except NotFound:
            return True
        return False

    await eventually(set_gone, what="ServiceSet gone")
    assert await delivery.kube.get("apps/v1", "Deployment", "web", "apps") is None
    assert await delivery.kube.get("v1", "ConfigMap", "web-settings", "apps") is None
    assert await delivery.kube.get("v1", "ConfigMap", "by-hand", "apps") is not None


async def test_field_manager_conflict_fails_with_conflict(delivery: Delivery) -> None:
    await delivery.template("extra-1", configmap_only("extra"))
    await delivery.kube.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}},
        field_manager="kubectl",
    )
    await delivery.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "extra", "namespace": "apps"},
            "data": {"a": "theirs"},
        },
        field_manager="kubectl",
    )
    await delivery.apply_set(v1alpha1.Service(name="extra", template="extra-1", namespace="apps"))
    failed = await delivery.wait_service("extra", lambda s: s.state == ServiceState.FAILED)
    assert failed.reason == "Conflict"
    assert "ConfigMap apps/extra" in failed.message
    assert await delivery.events("Failed")


async def test_template_that_does_not_render_fails_with_the_line(delivery: Delivery) -> None:
    await delivery.template("bad-1", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ x\n")
    await delivery.apply_set(v1alpha1.Service(name="bad", template="bad-1", namespace="apps"))
    failed = await delivery.wait_service("bad", lambda s: s.state == ServiceState.FAILED)
    assert failed.reason == "RenderFailed"
    assert "line" in failed.message
