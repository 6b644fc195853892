"""ClusterDeployments on the k3d provider through the real controller and store: a cluster
becomes Ready through the stand-in k3d, and a missing k3d or a stopped Docker shows on the
ClusterDeployment as ``Failed`` with a ``Stalled`` condition a person can act on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import yaml

from orbit import catalog, controllers
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.config import ControllerSettings, Settings
from orbit.controllers.serviceset import cluster_clients
from orbit.providers.k3d import K3dProvider
from orbit.providers.registry import ProviderRegistry
from orbit.store import SqlStore

from .conftest import V1, FakeK3d

OBJECTS = f"""
apiVersion: orbit.k8or.io/v1alpha1
kind: Credential
metadata: {{name: laptop, namespace: default}}
spec: {{provider: k3d, description: Docker on this machine}}
---
apiVersion: orbit.k8or.io/v1alpha1
kind: ClusterTemplate
metadata: {{name: k3d-dev-1-0-0, namespace: default}}
spec:
  provider: k3d
  version: 1.0.0
  kubernetesVersion: {V1}
  parameters:
    type: object
    properties:
      workers: {{type: integer, minimum: 0, maximum: 5, default: 1}}
  cluster:
    controlPlane: {{count: 1}}
    workers: {{count: "{{{{ workers }}}}"}}
    providerSpec: {{image: rancher/k3s, k3sArgs: ["--disable=traefik@server:*"]}}
"""


@dataclass
class Plane:
    store: SqlStore
    admission: Admission

    async def create(self, name: str, **config: object) -> None:
        cluster = v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
            spec=v1alpha1.ClusterDeploymentSpec(
                template="k3d-dev-1-0-0", credential="laptop", config=dict(config)
            ),
        )
        admitted = await self.admission.admit(cluster, None)
        await self.store.create(admitted)

    async def wait(
        self, name: str, check: Callable[[v1alpha1.ClusterDeployment], bool], what: str
    ) -> v1alpha1.ClusterDeployment:
        deadline = time.monotonic() + 30.0
        while True:
            cluster = await self.store.get(v1alpha1.ClusterDeployment, "default", name)
            if check(cluster):
                return cluster
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {cluster.status}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def plane(store: SqlStore, fake: FakeK3d) -> AsyncIterator[Plane]:
    providers = ProviderRegistry([K3dProvider()])
    await catalog.ensure_default_namespace(store)
    admission = Admission(store, providers=providers.names())
    for doc in yaml.safe_load_all(OBJECTS):
        obj = v1alpha1.kind_for(doc["kind"]).model_validate(doc)
        await store.create(await admission.admit(obj, None))
    settings = Settings(
        controllers=ControllerSettings(
            workers=2, poll_interval=0.05, base_delay=0.02, max_delay=0.5, ready_recheck=5.0
        )
    )
    clients = cluster_clients(providers)
    manager = controllers.build_manager(store, providers, settings, clients=clients)
    await manager.start()
    try:
        yield Plane(store, admission)
    finally:
        await manager.stop()
        await clients.close()


def stalled(cluster: v1alpha1.ClusterDeployment) -> v1alpha1.Condition | None:
    found = v1alpha1.get_condition(cluster.status.conditions, "Stalled")
    return found if found is not None and found.status == "True" else None


async def test_a_k3d_cluster_becomes_ready(plane: Plane, fake: FakeK3d) -> None:
    await plane.create("dev", workers=2)
    cluster = await plane.wait("dev", lambda c: c.status.phase == "Ready", "dev Ready")
    assert (cluster.status.nodes.ready, cluster.status.nodes.total) == (3, 3)
    assert cluster.status.nodes.versions == {V1: 3}
    (create,) = [c for c in fake.mutations() if c[1:3] == ["cluster", "create"]]
    assert "--k3s-arg" in create and "--disable=traefik@server:*" in create


async def test_k3d_missing_fails_the_cluster_with_what_to_do(plane: Plane, fake: FakeK3d) -> None:
    fake.remove("k3d")
    await plane.create("nok3d")
    cluster = await plane.wait("nok3d", lambda c: stalled(c) is not None, "nok3d Stalled")
    assert cluster.status.phase == "Failed"
    condition = stalled(cluster)
    assert condition is not None and condition.reason == "ProviderFailed"
    assert "the k3d CLI was not found" in condition.message
    assert "install k3d (https://k3d.io)" in (cluster.status.message or "")


async def test_docker_down_fails_the_cluster_with_dockers_words(
    plane: Plane, fake: FakeK3d
) -> None:
    fake.update(docker="down")
    await plane.create("nodocker")
    cluster = await plane.wait("nodocker", lambda c: stalled(c) is not None, "Stalled")
    assert cluster.status.phase == "Failed"
    assert (cluster.status.message or "").startswith(
        "Docker is not reachable: Cannot connect to the Docker daemon"
    )
