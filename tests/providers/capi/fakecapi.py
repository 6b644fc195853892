"""Fake Cluster API controllers: what CAPI, its K3s/k0smotron providers and an infrastructure
provider would do to the objects the ``capi`` provider applies, one step per ``step()``.

Only test code keeps state here (nothing: it too reads everything back each step). A step:

- a new Cluster gets CAPI's finalizer; its infrastructure cluster becomes ready (unless
  ``hold_infrastructure``) and its ``controlPlaneEndpoint`` is written (by another field
  manager, as the infrastructure provider does);
- the control plane and the MachineDeployment each take one rolling step toward their
  ``replicas`` at their ``version`` (surge one Machine, mark it ready the next step, then
  delete one outdated); a k0smotron control plane has pods, not Machines: its status moves;
- their status (replicas, readyReplicas, updatedReplicas, version) and the Cluster's
  conditions (InfrastructureReady, ControlPlaneReady, Ready) are written;
- once the control plane has a ready replica, ``<cluster>-kubeconfig`` holds the workload
  cluster's kubeconfig (key ``value``, base64), as CAPI writes it;
- a deleted Cluster first loses its Machines, MachineDeployments, control plane and
  infrastructure cluster (CAPI's cascade), then, a step later, its finalizer. Templates are
  left behind, so the provider's clean-up of leftovers is exercised too.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from lightkube import AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

CAPI = "cluster.x-k8s.io"
FINALIZER = "cluster.cluster.x-k8s.io"
CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"
CONTROL_PLANE = "cluster.x-k8s.io/control-plane"
MANAGER = "fake-capi"

Obj = dict[str, Any]

PLURALS = {
    "Cluster": "clusters",
    "Machine": "machines",
    "MachineDeployment": "machinedeployments",
    "KThreesControlPlane": "kthreescontrolplanes",
    "K0smotronControlPlane": "k0smotroncontrolplanes",
    "DockerCluster": "dockerclusters",
    "AWSCluster": "awsclusters",
}


def resource(api_version: str, kind: str) -> Any:
    group, _, version = api_version.rpartition("/")
    return create_namespaced_resource(group, version, kind, PLURALS[kind])


CLUSTER = resource(f"{CAPI}/v1beta1", "Cluster")
MACHINE = resource(f"{CAPI}/v1beta1", "Machine")
MACHINE_DEPLOYMENT = resource(f"{CAPI}/v1beta1", "MachineDeployment")


def plain(obj: Any) -> Obj:
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj)


def true(kind: str, ok: bool, reason: str = "") -> Obj:
    return {"type": kind, "status": "True" if ok else "False", "reason": "" if ok else reason}


class FakeCapi:
    def __init__(
        self,
        client: AsyncClient,
        namespace: str,
        workload_kubeconfig: bytes,
        *,
        hold_infrastructure: bool = False,
    ) -> None:
        self.client = client
        self.ns = namespace
        self.workload_kubeconfig = workload_kubeconfig
        self.hold_infrastructure = hold_infrastructure

    async def step(self) -> None:
        async for found in self.client.list(CLUSTER, namespace=self.ns):
            cluster = plain(found)
            if cluster["metadata"].get("deletionTimestamp"):
                await self._delete(cluster)
            else:
                await self._reconcile(cluster)

    # -- one Cluster ---------------------------------------------------------------------------

    async def _reconcile(self, cluster: Obj) -> None:
        name = cluster["metadata"]["name"]
        if FINALIZER not in (cluster["metadata"].get("finalizers") or []):
            patch = {"metadata": {"finalizers": [FINALIZER]}}
            await self.client.patch(
                CLUSTER, name, patch, namespace=self.ns, patch_type=PatchType.MERGE
            )
        infra_ready = await self._infrastructure(cluster)
        cp_ref = cluster["spec"]["controlPlaneRef"]
        cp_cls = resource(cp_ref["apiVersion"], cp_ref["kind"])
        cp = plain(await self.client.get(cp_cls, cp_ref["name"], namespace=self.ns))
        if cp_ref["kind"] == "K0smotronControlPlane":
            cp_ready = await self._hosted_control_plane(cp_cls, cp)
        else:
            cp_ready = await self._group(
                cp_cls, cp, cluster=name, template=cp["spec"]["machineTemplate"], control=True
            )
        async for md in self.client.list(
            MACHINE_DEPLOYMENT, namespace=self.ns, labels={CLUSTER_NAME: name}
        ):
            body = plain(md)
            template = body["spec"]["template"]
            await self._group(MACHINE_DEPLOYMENT, body, cluster=name, template=template)
        if cp_ready:
            await self._kubeconfig(name)
        status = {
            "phase": "Provisioned" if infra_ready else "Provisioning",
            "infrastructureReady": infra_ready,
            "controlPlaneReady": cp_ready,
            "conditions": [
                true("Ready", infra_ready and cp_ready, "WaitingForControlPlane"),
                true("ControlPlaneReady", cp_ready, "WaitingForControlPlane"),
                true("InfrastructureReady", infra_ready, "WaitingForInfrastructure"),
            ],
        }
        await self._status(CLUSTER, name, status)

    async def _infrastructure(self, cluster: Obj) -> bool:
        ref = cluster["spec"]["infrastructureRef"]
        cls = resource(ref["apiVersion"], ref["kind"])
        if self.hold_infrastructure:
            return False
        endpoint = {"host": "127.0.0.1", "port": 6443}
        for target, api_version, kind, name in (
            (cls, ref["apiVersion"], ref["kind"], ref["name"]),
            (CLUSTER, f"{CAPI}/v1beta1", "Cluster", cluster["metadata"]["name"]),
        ):
            patch = {
                "apiVersion": api_version,
                "kind": kind,
                "metadata": {"name": name, "namespace": self.ns},
                "spec": {"controlPlaneEndpoint": endpoint},
            }
            await self.client.patch(
                target,
                name,
                patch,
                namespace=self.ns,
                patch_type=PatchType.APPLY,
                field_manager=MANAGER,
            )
        await self._status(cls, ref["name"], {"ready": True})
        return True

    async def _hosted_control_plane(self, cls: Any, cp: Obj) -> bool:
        """k0smotron: pods in the management cluster; the status moves one step at a time."""
        spec, status = cp["spec"], cp.get("status") or {}
        want, version = int(spec["replicas"]), spec["version"]
        replicas = int(status.get("replicas") or 0)
        ready = int(status.get("readyReplicas") or 0)
        if status.get("version") != version and replicas:
            new = {"version": version, "readyReplicas": 0, "updatedReplicas": 0}
        elif ready < replicas:
            new = {"readyReplicas": replicas, "updatedReplicas": replicas}
        else:
            new = {"replicas": want, "readyReplicas": min(ready, want), "version": version}
        merged = {**status, **new}
        merged["ready"] = int(merged.get("readyReplicas") or 0) > 0
        await self._status(cls, cp["metadata"]["name"], merged)
        return bool(merged["ready"])

    async def _group(
        self, cls: Any, owner: Obj, *, cluster: str, template: Obj, control: bool = False
    ) -> bool:
        """One rolling step of a control plane's or a MachineDeployment's Machines; returns
        whether one of them is ready."""
        spec = owner["spec"]
        want = int(spec.get("replicas") or 0)
        version = spec["version"] if control else template["spec"]["version"]
        labels = dict(template.get("metadata", {}).get("labels") or {})
        labels[CLUSTER_NAME] = cluster
        if control:
            labels[CONTROL_PLANE] = ""
        group = owner["metadata"]["name"]
        infra = template.get("infrastructureRef") or template["spec"]["infrastructureRef"]
        labels["fake/template"] = infra["name"]
        machines = [
            m
            for m in await self._machines(cluster)
            if m["metadata"]["labels"].get("fake/owner") == group
        ]
        unready = [m for m in machines if not m.get("status", {}).get("nodeRef")]

        def current(m: Obj) -> bool:
            labels = m["metadata"]["labels"]
            return bool(
                m["spec"]["version"] == version and labels["fake/template"] == infra["name"]
            )

        outdated = [m for m in machines if not current(m)]
        if unready:
            for machine in unready:
                await self._ready(machine)
        elif outdated and len(machines) <= want:
            await self._create(group, labels, version, cluster)
        elif len(machines) > want:
            victim = (outdated or sorted(machines, key=lambda m: m["metadata"]["name"]))[0]
            await self.client.delete(MACHINE, victim["metadata"]["name"], namespace=self.ns)
        elif len(machines) < want:
            await self._create(group, labels, version, cluster)
        machines = [
            m
            for m in await self._machines(cluster)
            if m["metadata"]["labels"].get("fake/owner") == group
        ]
        ready = [m for m in machines if m.get("status", {}).get("nodeRef")]
        updated = [m for m in machines if current(m)]
        versions = sorted({m["spec"]["version"] for m in ready})
        status: Obj = {
            "observedGeneration": owner["metadata"].get("generation", 1),
            "replicas": len(machines),
            "readyReplicas": len(ready),
            "updatedReplicas": len(updated),
        }
        if control:
            status["version"] = versions[0] if versions else None
            status["ready"] = status["initialized"] = bool(ready)
        await self._status(cls, group, status)
        return bool(ready)

    async def _machines(self, cluster: str) -> list[Obj]:
        found = self.client.list(MACHINE, namespace=self.ns, labels={CLUSTER_NAME: cluster})
        return [plain(m) async for m in found]

    async def _create(self, group: str, labels: dict[str, str], version: str, cluster: str) -> None:
        name = f"{group}-{uuid.uuid4().hex[:5]}"
        body = {
            "apiVersion": f"{CAPI}/v1beta1",
            "kind": "Machine",
            "metadata": {
                "name": name,
                "namespace": self.ns,
                "labels": {**labels, "fake/owner": group},
            },
            "spec": {"clusterName": cluster, "version": version},
        }
        await self.client.create(MACHINE.from_dict(body))  # type: ignore[attr-defined]
        status = {"phase": "Provisioning", "conditions": [true("Ready", False, "Bootstrapping")]}
        await self._status(MACHINE, name, status)

    async def _ready(self, machine: Obj) -> None:
        name = machine["metadata"]["name"]
        status = {
            "phase": "Running",
            "nodeRef": {"kind": "Node", "name": f"node-{name}"},
            "nodeInfo": {"kubeletVersion": machine["spec"]["version"]},
            "conditions": [true("Ready", True), true("NodeHealthy", True)],
        }
        await self._status(MACHINE, name, status)

    async def _kubeconfig(self, cluster: str) -> None:
        value = base64.b64encode(self.workload_kubeconfig).decode()
        secret = Secret(
            metadata=ObjectMeta(
                name=f"{cluster}-kubeconfig",
                namespace=self.ns,
                labels={CLUSTER_NAME: cluster},
            ),
            type="cluster.x-k8s.io/secret",
            data={"value": value},
        )
        await self.client.apply(secret, field_manager=MANAGER)

    async def _delete(self, cluster: Obj) -> None:
        name = cluster["metadata"]["name"]
        machines = await self._machines(name)
        owned: list[tuple[Any, str]] = [(MACHINE, m["metadata"]["name"]) for m in machines]
        async for md in self.client.list(
            MACHINE_DEPLOYMENT, namespace=self.ns, labels={CLUSTER_NAME: name}
        ):
            owned.append((MACHINE_DEPLOYMENT, md.metadata.name))
        for key in ("controlPlaneRef", "infrastructureRef"):
            ref = cluster["spec"][key]
            cls = resource(ref["apiVersion"], ref["kind"])
            try:
                await self.client.get(cls, ref["name"], namespace=self.ns)
            except Exception:
                continue
            owned.append((cls, ref["name"]))
        if owned:
            for cls, obj_name in owned:
                await self.client.delete(cls, obj_name, namespace=self.ns)
            return
        patch = {"metadata": {"finalizers": None}}
        await self.client.patch(CLUSTER, name, patch, namespace=self.ns, patch_type=PatchType.MERGE)

    async def _status(self, cls: Any, name: str, status: Obj) -> None:
        await self.client.patch(
            cls.Status, name, {"status": status}, namespace=self.ns, patch_type=PatchType.MERGE
        )
