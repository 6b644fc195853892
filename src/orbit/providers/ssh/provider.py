"""The ``ssh`` provider: K3s clusters on the hosts of a template's host pools, over SSH.

Each call looks at every host it may touch (:func:`k3s.probe`: claim, installed version, running
job) and at the cluster's Kubernetes API (nodes, readiness, versions), then takes the next step
and returns what it saw, so a call interrupted anywhere is simply made again. In order:

1. the first server: claim it and start the K3s install (always ``--cluster-init``: embedded
   etcd, so servers can join later); wait for it, then read its kubeconfig and node token;
2. the agents join at once, the other servers one at a time (``K3S_URL``, ``K3S_TOKEN``); wait
   until every node is Ready;
3. hosts that hold this cluster's claim but are no longer wanted (a scale-down), one at a time:
   drain the node, run K3s's uninstall script, delete the Node, drop the claim;
4. hosts below the wanted version, one at a time, servers first: run the install again at the
   new version and wait for the node to be Ready at it before the next.

The cluster is found again from its identity alone (observe, delete, kubeconfig get no
providerSpec) through the claims on the hosts of the credential's inventory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    Deletion,
    DesiredCluster,
    Observation,
    ProviderPermanentError,
    spec_causes,
)
from orbit.providers.ssh import k3s, survey
from orbit.providers.ssh.converge import Converge, plan
from orbit.providers.ssh.hosts import NAME, Access, Hosts
from orbit.providers.ssh.spec import CredentialConfig, SshProviderSpec, parse_spec

log = logging.getLogger("orbit.providers.ssh")


class SshProvider:
    """Provider ``ssh``: the hosts and the cluster's API are the truth; it keeps only the host
    keys it learned on first use (:mod:`.learned`)."""

    name: str = NAME

    def __init__(self, host_keys: Path | None = None) -> None:
        #: Where keys learned on first use are kept (:mod:`.learned`; None: its default).
        self.host_keys = host_keys

    def check_provider_spec(self, spec: Mapping[str, Any]) -> list[errors.Cause]:
        """Every field of a rendered providerSpec that would refuse to build (admission)."""
        return spec_causes(SshProviderSpec, spec)

    def check_credential_config(self, config: Mapping[str, Any]) -> list[errors.Cause]:
        """Every field of a Credential's ``spec.config`` that would refuse to build (admission)."""
        return spec_causes(CredentialConfig, config, path="spec.config")

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation:
        access = Access(credential, self.host_keys)
        spec = parse_spec(cluster.provider_spec)
        members = plan(cluster, spec)
        for m in members:
            if not access.in_inventory(m.addr):
                raise ProviderPermanentError(
                    f'host {m.addr} is not named by credential "{access.name}" (config.'
                    "knownHosts or config.hosts): Orbit could not find it again to tear it down"
                )
        async with Hosts(access, command_timeout=spec.command_timeout) as hosts:
            return await Converge(cluster, spec, access, hosts, members).run()

    async def delete_cluster(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Deletion:
        access = Access(credential, self.host_keys)
        async with Hosts(access) as hosts:
            claimed = await survey.claimed(access, hosts, ref, strict=True)
            order = sorted(claimed.values(), key=lambda s: (survey.claim_of(s).init, s.host.addr))
            for seen in order:
                claim = survey.claim_of(seen)
                where = f"{claim.role} {seen.host.addr}"
                log.info("Uninstalling K3s from %s", where, extra=survey.fields(ref))
                await k3s.uninstall(seen.host, access.config.state_dir, claim)
                await k3s.drop_claim(seen.host, access.config.state_dir)
        return Deletion(gone=True)

    async def observe(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Observation | None:
        access = Access(credential, self.host_keys)
        async with Hosts(access) as hosts:
            claimed = await survey.claimed(access, hosts, ref, strict=False)
            if not claimed:
                return None
            found = await survey.api(ref, claimed)
        if found is None:
            return survey.observation(
                ref, None, claimed, endpoint=None, message="K3s API not answering"
            )
        _, server, api_nodes = found
        return survey.observation(ref, api_nodes, claimed, endpoint=server, message="")

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        access = Access(credential, self.host_keys)
        async with Hosts(access) as hosts:
            claimed = await survey.claimed(access, hosts, ref, strict=False)
            for seen in claimed.values():
                claim = survey.claim_of(seen)
                if claim.init:
                    raw = await k3s.read_kubeconfig(seen.host, claim)
                    if raw is not None:
                        config, _ = k3s.rewrite_kubeconfig(
                            raw, address=seen.host.addr.address, ref=ref
                        )
                        return config
        raise errors.NotFound(
            f'cluster "{ref.namespace}/{ref.name}" has no K3s server with a kubeconfig',
            kind="ClusterDeployment",
            name=ref.name,
        )
