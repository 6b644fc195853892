"""Fixtures for the ``capi`` provider: a management cluster with Cluster API's CRDs.

The management cluster is a simulated cluster whose Kubernetes API is served over HTTPS by a
real uvicorn on 127.0.0.1 (port 0, in the test's loop; the certificate is the simplane tests'
session-wide self-signed one). A second simulated cluster stands for the workload cluster: its
kubeconfig is what the fake Cluster API controllers (``fakecapi``) write into the
``<cluster>-kubeconfig`` Secret, so the kubeconfig the provider hands out really works.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from lightkube import AsyncClient, KubeConfig
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from orbit.api import v1alpha1
from orbit.simplane import SimClusterSpec, SimPlane, SimPlaneSettings
from orbit.simplane.api import PREFIX, create_router
from tests.simplane.kube.conftest import Tls, tls  # noqa: F401  (the session's certificate)

from .fakecapi import FakeCapi

NAMESPACE = "capi-clusters"
V1 = "v1.30.6+k3s1"
V2 = "v1.31.2+k3s1"

#: (group, version, kind, plural) of the Cluster API kinds the tests install.
CAPI_CORE = [
    ("cluster.x-k8s.io", "v1beta1", "Cluster", "clusters"),
    ("cluster.x-k8s.io", "v1beta1", "MachineDeployment", "machinedeployments"),
    ("cluster.x-k8s.io", "v1beta1", "Machine", "machines"),
]
K3S = [
    ("controlplane.cluster.x-k8s.io", "v1beta2", "KThreesControlPlane", "kthreescontrolplanes"),
    ("bootstrap.cluster.x-k8s.io", "v1beta2", "KThreesConfigTemplate", "kthreesconfigtemplates"),
]
K0SMOTRON = [
    ("controlplane.cluster.x-k8s.io", "v1beta1", "K0smotronControlPlane", "k0smotroncontrolplanes"),
    (
        "bootstrap.cluster.x-k8s.io",
        "v1beta1",
        "K0sWorkerConfigTemplate",
        "k0sworkerconfigtemplates",
    ),
]
DOCKER = [
    ("infrastructure.cluster.x-k8s.io", "v1beta1", "DockerCluster", "dockerclusters"),
    (
        "infrastructure.cluster.x-k8s.io",
        "v1beta1",
        "DockerMachineTemplate",
        "dockermachinetemplates",
    ),
]
AWS = [
    ("infrastructure.cluster.x-k8s.io", "v1beta2", "AWSCluster", "awsclusters"),
    ("infrastructure.cluster.x-k8s.io", "v1beta2", "AWSMachineTemplate", "awsmachinetemplates"),
]
ALL_KINDS = CAPI_CORE + K3S + K0SMOTRON + DOCKER + AWS

DOCKER_INFRA = {
    "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
    "clusterKind": "DockerCluster",
    "machineTemplateKind": "DockerMachineTemplate",
}
AWS_INFRA = {
    "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
    "clusterKind": "AWSCluster",
    "machineTemplateKind": "AWSMachineTemplate",
    "identityRef": {"kind": "AWSClusterStaticIdentity", "name": "orbit-aws"},
}


def crd(group: str, version: str, kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def credential(
    kubeconfig: bytes | str | None,
    *,
    infrastructure: dict[str, Any] | None = None,
    namespace: str = NAMESPACE,
    provider: str = "capi",
) -> v1alpha1.Credential:
    """A ``capi`` credential, its secret ``kubeconfig`` opened (as the registry hands it)."""
    secret = None if kubeconfig is None else {"kubeconfig": _text(kubeconfig)}
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name="mgmt", namespace="team-a"),
        spec=v1alpha1.CredentialSpec(
            provider=provider,
            config={"namespace": namespace, "infrastructure": infrastructure or DOCKER_INFRA},
            secret_keys=["kubeconfig"],
            secret_data=secret,
        ),
    )


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data


@dataclass
class Management:
    """The management cluster: its kubeconfig, a lightkube client on it, the workload's."""

    kubeconfig: bytes
    workload_kubeconfig: bytes
    client: AsyncClient
    plane: SimPlane

    async def install(self, kinds: list[tuple[str, str, str, str]]) -> None:
        for entry in kinds:
            await self.client.create(CustomResourceDefinition.from_dict(crd(*entry)))

    async def namespace(self, name: str = NAMESPACE) -> None:
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import Namespace

        await self.client.create(Namespace(metadata=ObjectMeta(name=name)))

    def capi(self, **options: Any) -> FakeCapi:
        return FakeCapi(self.client, NAMESPACE, self.workload_kubeconfig, **options)


@pytest.fixture
async def bare_management(tmp_path: Path, tls: Tls) -> AsyncIterator[Management]:  # noqa: F811
    """A management cluster with nothing installed (no Cluster API, no namespace)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    settings = SimPlaneSettings(
        database_url=str(tmp_path / "mgmt.db"),
        node_latency=0,
        pod_latency=0,
        endpoint_base=f"https://127.0.0.1:{port}{PREFIX}/clusters",
        endpoint_ca=tls.pem,
    )
    plane = await SimPlane.open(settings)
    app = FastAPI()
    app.include_router(create_router(plane))
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    client: AsyncClient | None = None
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        for uid, name in (("mgmt-uid", "mgmt"), ("workload-uid", "workload")):
            spec = SimClusterSpec(
                uid=uid, namespace="infra", name=name, kubernetes_version=V1, worker_count=0
            )
            await plane.ensure_cluster(spec)
        kubeconfig = await plane.kubeconfig("mgmt-uid")
        client = AsyncClient(KubeConfig.from_dict(yaml.safe_load(kubeconfig)), trust_env=False)
        yield Management(
            kubeconfig=kubeconfig,
            workload_kubeconfig=await plane.kubeconfig("workload-uid"),
            client=client,
            plane=plane,
        )
    finally:
        if client is not None:
            await client.close()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await plane.close()


@pytest.fixture
async def management(bare_management: Management) -> Management:
    """A management cluster with Cluster API, both control planes, Docker and AWS installed."""
    await bare_management.install(ALL_KINDS)
    await bare_management.namespace()
    return bare_management
