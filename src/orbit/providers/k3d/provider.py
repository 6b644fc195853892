"""The ``k3d`` provider: K3s clusters in Docker on one machine, through the ``k3d`` CLI.

Every call starts from ``k3d cluster list -o json`` and keeps nothing: the cluster of a
ClusterDeployment is found by its name (:func:`spec.cluster_name`, derived from the uid), its
nodes, images and states are read from k3d's JSON, and ``ensure_cluster`` runs at most one
mutating command per call (:func:`cluster.plan`), then reads the cluster back and reports.

Commands::

    create    k3d cluster create NAME --servers N --agents M --image rancher/k3s:TAG --wait
              --timeout Ts --kubeconfig-update-default=false --kubeconfig-switch-context=false
              [--k3s-arg --cluster-init@server:0]   (one server: embedded etcd, so a
              replacement server can join during an upgrade)  + the providerSpec's options
    scale up  k3d node create NAME-agent-N --cluster NAME --role agent --image ... --wait
    remove    docker exec <a running server> kubectl delete node <node> --ignore-not-found
              (for a server this also removes its etcd member), then k3d node delete <node>
    upgrade   surge, one node at a time: create a node on the new image, then remove an old one
    delete    k3d cluster delete NAME
    config    k3d kubeconfig get NAME
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    Deletion,
    DesiredCluster,
    Observation,
    ObservedNode,
    spec_causes,
)
from orbit.providers.k3d import cluster as k3dcluster
from orbit.providers.k3d import spec as k3dspec
from orbit.providers.k3d.cli import Cli

log = logging.getLogger("orbit.providers.k3d")


class K3dProvider:
    """Provider ``k3d``: one Docker engine, many K3s clusters."""

    name: str = k3dspec.NAME

    def check_provider_spec(self, spec: Mapping[str, Any]) -> list[errors.Cause]:
        """Every field of a rendered providerSpec that would refuse to build (admission)."""
        return spec_causes(k3dspec.K3dSpec, spec)

    def check_credential_config(self, config: Mapping[str, Any]) -> list[errors.Cause]:
        """Every field of a Credential's ``spec.config`` that would refuse to build (admission)."""
        return spec_causes(k3dspec.Settings, config, path="spec.config")

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation:
        cli = Cli(k3dspec.settings(credential))
        spec = k3dspec.parse_spec(cluster.provider_spec)
        image = k3dspec.image_for(spec, cluster.kubernetes_version)
        name = k3dspec.cluster_name(cluster.ref)
        fields = _fields(cluster.ref, name)
        found = await _find(cli, name)
        if found is None:
            log.info("Creating k3d cluster", extra=fields)
            await cli.k3d(*_create_args(cli, cluster, spec, name, image), mutating=True)
            return await _observe(cli, cluster.ref, name, "cluster created")

        step = k3dcluster.plan(
            found,
            servers=cluster.control_plane.count,
            agents=cluster.workers.count,
            image=image,
        )
        if step is None:
            return _observation(cluster.ref, found, "")
        if isinstance(step, k3dcluster.Wait):
            return _observation(cluster.ref, found, step.message)
        log.info("Converging k3d cluster: %s", step.message, extra=fields)
        if isinstance(step, k3dcluster.CreateNode):
            await cli.k3d(
                "node", "create", step.name, "--cluster", name, "--role", step.role,
                "--image", image, "--wait", "--timeout", _duration(cli),
                mutating=True,
            )  # fmt: skip
        else:
            if step.via is not None:
                await cli.docker(
                    "exec", step.via, "kubectl", "delete", "node", step.node,
                    "--ignore-not-found", "--timeout=120s",
                )  # fmt: skip
            await cli.k3d("node", "delete", step.node, mutating=True)
        return await _observe(cli, cluster.ref, name, step.message)

    async def delete_cluster(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Deletion:
        cli = Cli(k3dspec.settings(credential))
        name = k3dspec.cluster_name(ref)
        if await _find(cli, name) is None:
            return Deletion(gone=True)
        log.info("Deleting k3d cluster", extra=_fields(ref, name))
        await cli.k3d("cluster", "delete", name, mutating=True)
        left = await _find(cli, name)
        if left is None:
            return Deletion(gone=True)
        return Deletion(gone=False, remaining=tuple(n.name for n in left.nodes) or (name,))

    async def observe(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Observation | None:
        cli = Cli(k3dspec.settings(credential))
        found = await _find(cli, k3dspec.cluster_name(ref))
        return None if found is None else _observation(ref, found, "")

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        """``k3d kubeconfig get``; raises :class:`orbit.errors.NotFound` without a cluster."""
        cli = Cli(k3dspec.settings(credential))
        name = k3dspec.cluster_name(ref)
        if await _find(cli, name) is None:
            raise errors.NotFound(
                f"k3d cluster {name} of {ref.namespace}/{ref.name} does not exist",
                kind="ClusterDeployment",
                name=ref.name,
            )
        return (await cli.k3d("kubeconfig", "get", name)).stdout


def provider() -> K3dProvider:
    """The entry point ``orbit.providers: k3d``."""
    return K3dProvider()


async def _find(cli: Cli, name: str) -> k3dcluster.K3dCluster | None:
    listed = k3dcluster.parse_clusters((await cli.k3d("cluster", "list", "-o", "json")).stdout)
    return next((c for c in listed if c.name == name), None)


async def _observe(cli: Cli, ref: ClusterRef, name: str, message: str) -> Observation:
    found = await _find(cli, name)
    if found is None:  # deleted behind our back between two commands: create it next time
        return Observation(ref=ref, nodes=(), infrastructure_ready=False, message=message)
    return _observation(ref, found, message)


def _observation(ref: ClusterRef, found: k3dcluster.K3dCluster, message: str) -> Observation:
    nodes = tuple(
        ObservedNode(
            name=node.name,
            role=k3dcluster.ROLES[role],
            kubernetes_version=k3dspec.version_of(node.image),
            ready=node.running,
            machine_size="",
        )
        for role in ("server", "agent")
        for node in found.group(role)
    )
    servers_up = any(n.ready for n in nodes if n.role == "control-plane")
    return Observation(
        ref=ref,
        nodes=nodes,
        infrastructure_ready=servers_up,
        endpoint=found.endpoint(),
        message=message or ("" if servers_up else f"k3d cluster {found.name}: no server runs"),
    )


def _create_args(
    cli: Cli, cluster: DesiredCluster, spec: k3dspec.K3dSpec, name: str, image: str
) -> list[str]:
    servers = cluster.control_plane.count
    args = [
        "cluster", "create", name,
        "--servers", str(servers),
        "--agents", str(cluster.workers.count),
        "--image", image,
        "--wait", "--timeout", _duration(cli),
        "--kubeconfig-update-default=false", "--kubeconfig-switch-context=false",
    ]  # fmt: skip
    if servers == 1:
        # k3d starts etcd itself for several servers; one would run SQLite, which no
        # second server can join, and an upgrade replaces servers by adding one first.
        args += ["--k3s-arg", "--cluster-init@server:0"]
    return args + spec.create_args()


def _duration(cli: Cli) -> str:
    return f"{int(cli.timeout)}s"


def _fields(ref: ClusterRef, name: str) -> dict[str, str]:
    return {
        "kind": "ClusterDeployment",
        "namespace": ref.namespace,
        "object_name": ref.name,
        "k3d_cluster": name,
    }
