"""Finding a cluster from its identity alone: the claims on the credential's hosts, and the
nodes its Kubernetes API reports, turned into an Observation.

``observe``, ``delete_cluster`` and ``kubeconfig`` are given no providerSpec, only the
cluster's uid, so they look at every host of the credential's inventory for a claim with that
uid. Deletion must not miss a host, so it fails while one cannot be reached (or its key
cannot be checked); observation skips such a host. Host keys are checked as everywhere: a
pinned key, else the key learned on first use; a host with neither is reached only when the
caller passes the template's ``trustOnFirstUse`` (ensure_cluster does; observe, delete and
kubeconfig have no template, so never).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from orbit.providers.base import ClusterRef, Observation, ObservedNode, ProviderError
from orbit.providers.ssh import k3s, kube
from orbit.providers.ssh.hosts import Access, Host, HostAddr, Hosts
from orbit.providers.ssh.k3s import Claim, HostState
from orbit.providers.ssh.spec import Paths

log = logging.getLogger("orbit.providers.ssh")


@dataclass
class Seen:
    """One host as this call found it."""

    host: Host
    state: HostState


def claim_of(seen: Seen) -> Claim:
    assert seen.state.claim is not None
    return seen.state.claim


def fields(ref: ClusterRef) -> dict[str, str]:
    """Log fields, as the controllers write them."""
    return {
        "kind": "ClusterDeployment",
        "namespace": ref.namespace,
        "object_name": ref.name,
        "uid": ref.uid,
    }


async def look(
    hosts: Hosts,
    addr: HostAddr,
    *,
    root: str,
    bin_dir: str,
    user: str | None = None,
    trust_on_first_use: bool = False,
) -> Seen:
    host = await hosts.connect(addr, user=user, trust_on_first_use=trust_on_first_use)
    return Seen(host, await k3s.probe(host, root, bin_dir=bin_dir))


async def claimed(
    access: Access,
    hosts: Hosts,
    ref: ClusterRef,
    *,
    strict: bool,
    skip: frozenset[HostAddr] = frozenset(),
    trust_on_first_use: bool = False,
) -> dict[HostAddr, Seen]:
    """The inventory's hosts that hold ``ref``'s claim. ``strict``: a host that cannot be
    looked at is an error rather than skipped. ``trust_on_first_use``: the template's."""
    addrs = [a for a in access.inventory if a not in skip]
    found = await asyncio.gather(
        *(
            look(
                hosts,
                a,
                root=access.config.state_dir,
                bin_dir=Paths().bin_dir,
                trust_on_first_use=trust_on_first_use,
            )
            for a in addrs
        ),
        return_exceptions=True,
    )
    out: dict[HostAddr, Seen] = {}
    for addr, result in zip(addrs, found, strict=True):
        if isinstance(result, ProviderError):
            if strict:
                raise result
            log.info("Skipping host %s: %s", addr, result, extra=fields(ref))
            continue
        if isinstance(result, BaseException):
            raise result
        if result.state.claim is not None and result.state.claim.uid == ref.uid:
            out[addr] = result
    return out


async def api(
    ref: ClusterRef, claimed: dict[HostAddr, Seen]
) -> tuple[bytes, str, list[kube.ApiNode]] | None:
    """(kubeconfig, server URL, nodes) from the cluster's first server; None if not answering."""
    for seen in claimed.values():
        claim = claim_of(seen)
        if not claim.init:
            continue
        raw = await k3s.read_kubeconfig(seen.host, claim)
        if raw is None:
            return None
        config, server = k3s.rewrite_kubeconfig(raw, address=seen.host.addr.address, ref=ref)
        async with kube.client(config) as client:
            nodes = await kube.nodes(client)
        return None if nodes is None else (config, server, nodes)
    return None


def observation(
    ref: ClusterRef,
    api_nodes: list[kube.ApiNode] | None,
    claimed: dict[HostAddr, Seen],
    *,
    endpoint: str | None,
    message: str,
) -> Observation:
    """Nodes as the API reports them (sizes from the claims); without an API, the claimed
    hosts with K3s installed, none Ready."""
    sizes = {claim_of(s).node: claim_of(s).size for s in claimed.values()}
    if api_nodes is not None:
        nodes = tuple(
            ObservedNode(
                name=n.name,
                role=n.role,
                kubernetes_version=n.version,
                ready=n.ready,
                machine_size=sizes.get(n.name, "unknown"),
            )
            for n in sorted(api_nodes, key=lambda n: (n.role != "control-plane", n.name))
        )
    else:
        nodes = tuple(
            ObservedNode(
                name=claim_of(s).node,
                role="control-plane" if claim_of(s).role == "server" else "worker",
                kubernetes_version=s.state.version or "",
                ready=False,
                machine_size=claim_of(s).size,
            )
            for s in claimed.values()
            if s.state.version is not None
        )
    return Observation(
        ref=ref,
        nodes=nodes,
        infrastructure_ready=api_nodes is not None,
        endpoint=endpoint,
        message=message,
    )
