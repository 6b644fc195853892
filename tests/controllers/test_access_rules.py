"""A cluster in team-a built from the shared catalog under an AccessRule: admitted, provisioned
through the sim provider, and given its services (the catalog template's base service and its
own, from catalog ServiceTemplates), with every controller of the Orbit Plane running against
the real store and the sim plane's Kubernetes API over HTTP. Removing the rule afterwards does
not stop the cluster from scaling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orbit import catalog, controllers
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ServiceState
from orbit.config import ControllerSettings, Settings
from orbit.controllers import servicesets
from orbit.controllers.serviceset import cluster_clients
from orbit.errors import Conflict
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.store import SqlStore
from tests.delivery.conftest_engine import Plane, eventually, plane  # noqa: F401

TEAM = "team-a"
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ name }}
data:
  cluster: "{{ cluster.name }}"
"""


class Orbit:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.admission = Admission(store, providers={"sim"})

    async def create(self, obj: v1alpha1.Resource) -> Any:
        return await self.store.create(await self.admission.admit(obj, None))

    async def update(self, obj: v1alpha1.Resource) -> Any:
        old = await self.store.get(type(obj), obj.metadata.namespace, obj.metadata.name)
        return await self.store.update(await self.admission.admit(obj, old))

    async def cluster(self, name: str = "c1") -> v1alpha1.ClusterDeployment:
        return await self.store.get(v1alpha1.ClusterDeployment, TEAM, name)

    async def change(self, change: Callable[[v1alpha1.ClusterDeployment], None]) -> None:
        """Change the cluster through admission, retrying when a controller wrote meanwhile."""
        for _ in range(50):
            cluster = (await self.cluster()).model_copy(deep=True)
            change(cluster)
            try:
                await self.update(cluster)
            except Conflict:
                continue
            return
        raise AssertionError("the cluster kept changing under the test")


@pytest.fixture
async def orbit(
    store: SqlStore,
    plane: Plane,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Orbit]:
    await catalog.install(store)
    providers = ProviderRegistry([SimProvider(plane.sim)])
    settings = Settings(
        data_dir=tmp_path,
        controllers=ControllerSettings(
            workers=4, poll_interval=0.05, base_delay=0.02, max_delay=0.5, ready_recheck=5.0
        ),
    )
    clients = cluster_clients(providers)
    manager = controllers.build_manager(store, providers, settings, clients=clients)
    await manager.start()
    try:
        yield Orbit(store)
    finally:
        await manager.stop()
        await clients.close()


def service_template(name: str) -> v1alpha1.ServiceTemplate:
    return v1alpha1.ServiceTemplate(
        metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
        spec=v1alpha1.ServiceTemplateSpec(
            version="1.0.0",
            resources=CONFIGMAP,
            parameters={
                "type": "object",
                "properties": {"name": {"type": "string", "default": "cm"}},
            },
        ),
    )


async def test_a_team_cluster_from_the_catalog_comes_up_with_its_services(orbit: Orbit) -> None:
    # the catalog (namespace "default"): a template with a base service, two service templates
    await orbit.create(service_template("base-cm-1-0-0"))
    await orbit.create(service_template("extra-cm-1-0-0"))
    stock = await orbit.store.get(v1alpha1.ClusterTemplate, "default", "sim-single-1-0-0")
    base = v1alpha1.Service(name="base", template="base-cm-1-0-0", values={"name": "base"})
    await orbit.create(
        v1alpha1.ClusterTemplate(
            metadata=v1alpha1.ObjectMeta(name="sim-web-1-0-0", namespace="default"),
            spec=stock.spec.model_copy(update={"upgrade_to": [], "services": [base]}),
        )
    )
    await orbit.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=TEAM)))
    await orbit.create(
        v1alpha1.AccessRule.model_validate(
            {
                "metadata": {"name": "team-a-basics"},
                "spec": {
                    "targetNamespaces": {"list": [TEAM]},
                    "clusterTemplates": ["sim-web-*"],
                    "credentials": ["sim"],
                    "serviceTemplates": ["extra-*"],
                },
            }
        )
    )

    extra = v1alpha1.Service(name="extra", template="extra-cm-1-0-0", values={"name": "extra"})
    await orbit.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="c1", namespace=TEAM),
            spec=v1alpha1.ClusterDeploymentSpec(
                template="sim-web-1-0-0", credential="sim", config={"workers": 1}, services=[extra]
            ),
        )
    )

    async def ready() -> v1alpha1.ClusterDeployment | None:
        c = await orbit.cluster()
        done = c.status.phase == v1alpha1.Phase.READY
        return c if done and c.status.observed_generation == c.metadata.generation else None

    cluster = await eventually(ready, what="c1 Ready")
    assert cluster is not None
    assert cluster.status.nodes is not None and cluster.status.nodes.total == 2

    owner = v1alpha1.OwnerRef(kind="ClusterDeployment", name="c1")

    async def delivered() -> list[str] | None:
        sets = await servicesets.owned(orbit.store, TEAM, owner)
        states = sorted(
            s.name
            for sset in sets
            for s in sset.status.services
            if s.state == ServiceState.DEPLOYED and s.healthy
        )
        return states if states == ["base", "extra"] else None

    await eventually(delivered, what="base and extra Deployed on c1")

    # the rule goes: the cluster was admitted under it, so it still scales
    await orbit.store.delete(v1alpha1.AccessRule, None, "team-a-basics")
    await orbit.change(lambda c: setattr(c.spec, "config", {"workers": 2}))

    async def scaled_up() -> bool:
        c = await orbit.cluster()
        return (
            c.status.nodes is not None
            and c.status.nodes.total == 3
            and (c.status.phase == v1alpha1.Phase.READY)
        )

    await eventually(scaled_up, what="c1 scaled to 2 workers")


async def test_available_upgrades_follow_the_rules(orbit: Orbit) -> None:
    await orbit.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=TEAM)))
    rule = v1alpha1.AccessRule.model_validate(
        {
            "metadata": {"name": "v1-only"},
            "spec": {
                "targetNamespaces": {"list": [TEAM]},
                "clusterTemplates": ["sim-single-1-0-0"],
                "credentials": ["sim"],
            },
        }
    )
    await orbit.create(rule)
    await orbit.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="c1", namespace=TEAM),
            spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="sim"),
        )
    )

    async def ready() -> v1alpha1.ClusterDeployment | None:
        c = await orbit.cluster()
        return c if c.status.phase == v1alpha1.Phase.READY else None

    cluster = await eventually(ready, what="c1 Ready")
    assert cluster is not None
    assert cluster.status.available_upgrades == []  # 1.1.0 exists but team-a may not use it

    stored = await orbit.store.get(v1alpha1.AccessRule, None, "v1-only")
    stored.spec.cluster_templates = ["sim-single-*"]
    await orbit.update(stored)
    # a rule change is no event for the cluster: a spec change makes the next pass
    await orbit.change(lambda c: c.metadata.labels.update(touched="yes"))

    async def offered() -> bool:
        c = await orbit.cluster()
        return c.status.available_upgrades == ["sim-single-1-1-0"]

    await eventually(offered, what="sim-single-1-1-0 offered")
