"""A cluster's own ServiceSet: its template's base services minus the ones it turns off, plus
its own, against the real store."""

from __future__ import annotations

from orbit import catalog
from orbit.api import v1alpha1
from orbit.controllers import servicesets
from orbit.controllers.clusterservices import ClusterServicesReconciler
from orbit.runtime.controller import Request
from orbit.store import SqlStore

NS = "default"
OWNER = v1alpha1.OwnerRef(kind="ClusterDeployment", name="c1")


def svc(name: str, **kw: object) -> v1alpha1.Service:
    return v1alpha1.Service.model_validate({"name": name, "template": f"{name}-1-0-0", **kw})


async def test_base_services_minus_disabled_plus_own(store: SqlStore) -> None:
    await catalog.install(store)
    base = await store.get(v1alpha1.ClusterTemplate, NS, "sim-single-1-0-0")
    await store.create(
        v1alpha1.ClusterTemplate(
            metadata=v1alpha1.ObjectMeta(name="platform-1-0-0", namespace=NS),
            spec=base.spec.model_copy(
                update={
                    "services": [
                        svc("ingress"),
                        svc("monitoring"),
                        svc("logging", dependsOn=["monitoring"]),
                    ]
                }
            ),
        )
    )
    await store.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="c1", namespace=NS),
            spec=v1alpha1.ClusterDeploymentSpec(
                template="platform-1-0-0",
                credential="sim",
                services=[
                    svc("monitoring", disabled=True),
                    svc("ingress", values={"replicas": 3}),
                    svc("app"),
                ],
            ),
        )
    )
    reconciler = ClusterServicesReconciler(store)
    await reconciler.reconcile(Request("ClusterDeployment", NS, "c1"))
    (sset,) = await servicesets.owned(store, NS, OWNER)
    assert sset.spec.cluster == "c1"
    assert [s.name for s in sset.spec.services] == ["ingress", "logging", "app"]
    assert sset.spec.services[0].values == {"replicas": 3}  # the cluster's entry wins
    assert sset.spec.services[1].depends_on == []  # its dependency was turned off

    cluster = await store.get(v1alpha1.ClusterDeployment, NS, "c1")
    cluster.spec.services = [svc(n, disabled=True) for n in ("ingress", "monitoring", "logging")]
    await store.update(cluster)
    await reconciler.reconcile(Request("ClusterDeployment", NS, "c1"))
    remaining = await servicesets.owned(store, NS, OWNER)
    assert all(s.metadata.deletion_timestamp is not None for s in remaining)  # nothing left
