"""One ``ensure_cluster`` pass: look at every host and the cluster's API, take the next step.

The steps and their order are described in :mod:`orbit.providers.ssh.provider`. Each decision
is taken from what the hosts and the API show now (claim, installed version, running job, node
Ready at its version), never from an earlier pass, so a pass cut short by a crash is repeated
without redoing what finished: a finished install shows as an installed version, a running one
as a running job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import lightkube

from orbit.providers.base import (
    SPEC_PATH,
    DesiredCluster,
    Observation,
    ProviderPermanentError,
    ProviderTransientError,
)
from orbit.providers.ssh import k3s, kube, survey
from orbit.providers.ssh.hosts import Access, HostAddr, Hosts
from orbit.providers.ssh.k3s import Claim
from orbit.providers.ssh.spec import PoolHost, Role, SshProviderSpec
from orbit.providers.ssh.survey import Seen, claim_of

log = logging.getLogger("orbit.providers.ssh")


@dataclass(frozen=True)
class Member:
    """A host the desired cluster uses, in pool order (the first server is the init one)."""

    pool: PoolHost
    role: Role
    init: bool
    index: int
    size: str

    @property
    def addr(self) -> HostAddr:
        return HostAddr(self.pool.address, self.pool.port)


def plan(cluster: DesiredCluster, spec: SshProviderSpec) -> list[Member]:
    """The hosts the desired cluster uses: the first N of each pool."""
    pools = spec.host_pools
    groups: list[tuple[str, Role, list[PoolHost], int, str]] = [
        ("servers", "server", pools.servers, cluster.control_plane.count,
         cluster.control_plane.machine_size),
        ("agents", "agent", pools.agents, cluster.workers.count, cluster.workers.machine_size),
    ]  # fmt: skip
    members: list[Member] = []
    for field, role, pool, count, size in groups:
        if count > len(pool):
            raise ProviderPermanentError(
                f"{SPEC_PATH}.hostPools.{field}: {count} {role} hosts wanted, the pool has "
                f"{len(pool)}"
            )
        for i, host in enumerate(pool[:count]):
            init = role == "server" and i == 0
            members.append(Member(host, role, init, len(members) + 1, size))
    addrs = [m.addr for m in members]
    for addr in addrs:
        if addrs.count(addr) > 1:
            raise ProviderPermanentError(f"{SPEC_PATH}.hostPools: host {addr} is listed twice")
    return members


class Converge:
    def __init__(
        self,
        cluster: DesiredCluster,
        spec: SshProviderSpec,
        access: Access,
        hosts: Hosts,
        members: list[Member],
    ) -> None:
        self.cluster, self.ref, self.spec = cluster, cluster.ref, spec
        self.version = cluster.kubernetes_version
        self.root = access.config.state_dir
        self.access, self.hosts, self.members = access, hosts, members
        self.total = len(members)
        self.seen: dict[HostAddr, Seen] = {}

    async def run(self) -> Observation:
        await self._look()
        init = self.members[0]
        busy = await self._install(init, join=None)
        if busy:
            return self._report(None, None, busy)
        first = self.seen[init.addr]
        claim = claim_of(first)
        found = await survey.api(self.ref, self._claimed())
        token = await k3s.read_token(first.host, claim)
        if found is None or token is None:
            return self._report(None, None, f"waiting for the K3s API on server {init.addr}")
        config, server, nodes = found
        by_name = {n.name: n for n in nodes}
        join = (f"https://{_url_host(init.addr.address)}:{self.spec.api_port}", token)

        # Agents join at once; servers one at a time (etcd adds one member at a time).
        messages: list[str] = []
        server_joining = False
        for x in self.members[1:]:
            if x.role == "server" and server_joining:
                continue
            message = await self._install(x, join=join)
            if message:
                messages.append(message)
            seen = self.seen[x.addr]
            node = by_name.get(claim_of(seen).node) if seen.state.claim else None
            server_joining |= x.role == "server" and not (node and node.ready)
        for m in self.members:
            st = self.seen[m.addr].state
            node = by_name.get(claim_of(self.seen[m.addr]).node) if st.claim else None
            if (
                st.version is not None
                and not (st.job and st.job.running)
                and not (node and node.ready)
            ):
                messages.append(f"waiting for node {m.pool.node} ({m.role} {m.addr}) to be Ready")
        if messages:
            return self._report(nodes, server, "; ".join(messages))

        async with kube.client(config) as api:
            removing = await self._remove_one(api, by_name)
        if removing:
            return self._report(nodes, server, removing)
        upgrading = await self._upgrade_one(join, by_name)
        if upgrading:
            return self._report(nodes, server, upgrading)
        return self._report(nodes, server, f"running {self.total} nodes at {self.version}")

    async def _look(self) -> None:
        """Every wanted host (unreachable: an error), then the rest of the inventory (for
        hosts this cluster holds but no longer wants)."""
        spec = self.spec
        for m in self.members:
            paths = spec.paths.on(m.pool.address)
            self.seen[m.addr] = seen = await survey.look(
                self.hosts,
                m.addr,
                root=self.root,
                bin_dir=paths.bin_dir,
                user=m.pool.user,
                trust_on_first_use=spec.trust_on_first_use,
            )
            claim = seen.state.claim
            if claim is not None and claim.uid != self.ref.uid:
                raise ProviderPermanentError(
                    f"host {m.addr} belongs to cluster {claim.namespace}/{claim.name} "
                    f"(uid {claim.uid}); take it out of {SPEC_PATH}.hostPools"
                )
        others = await survey.claimed(
            self.access,
            self.hosts,
            self.ref,
            strict=False,
            skip=frozenset(self.seen),
            trust_on_first_use=spec.trust_on_first_use,
        )
        self.seen.update(others)

    def _claimed(self) -> dict[HostAddr, Seen]:
        return {a: s for a, s in self.seen.items() if s.state.claim is not None}

    async def _install(self, m: Member, *, join: tuple[str, str] | None) -> str | None:
        """Install K3s on ``m`` unless it is there (at any version: upgrades come last)."""
        seen = self.seen[m.addr]
        st = seen.state
        if st.job and st.job.running:
            return f"installing K3s {st.job.name.removeprefix('k3s ')} on {self._label(m)}"
        if st.job and st.job.status not in (None, 0):
            await k3s.forget_failed_job(seen.host, self.root)
            if st.job.status == k3s.DOWNLOAD_FAILED and self.spec.air_gap is None:
                raise ProviderTransientError(
                    f"the K3s install on {m.role} {m.addr} failed: the host could not download "
                    f"the install script from {self.spec.install_script_url} (providerSpec."
                    "installScriptUrl); its log is "
                    f"{k3s.state_dir(self.root, seen.host)}/job.failed.log on the host; retrying"
                )
            raise ProviderTransientError(
                f"the K3s install on {m.role} {m.addr} failed (exit {st.job.status}); its log is "
                f"{k3s.state_dir(self.root, seen.host)}/job.failed.log on the host; retrying"
            )
        if st.version is not None:
            return None
        message = f"installing K3s {self.version} on {self._label(m)}"
        return await self._start(m, join=join, message=message)

    async def _start(self, m: Member, *, join: tuple[str, str] | None, message: str) -> str:
        seen = self.seen[m.addr]
        claim = seen.state.claim or Claim(
            uid=self.ref.uid,
            namespace=self.ref.namespace,
            name=self.ref.name,
            role=m.role,
            init=m.init,
            node=m.pool.node,
            size=m.size,
            paths=self.spec.paths.on(m.pool.address),
        )
        if seen.state.claim is None:
            await k3s.write_claim(seen.host, self.root, claim)
        log.info("%s%s", message[0].upper(), message[1:], extra=survey.fields(self.ref))
        await k3s.start_install(
            seen.host,
            self.root,
            spec=self.spec,
            member=m.pool,
            claim=claim,
            version=self.version,
            join=join,
        )
        return message

    async def _remove_one(
        self, api: lightkube.AsyncClient, by_name: dict[str, kube.ApiNode]
    ) -> str | None:
        """Take the first host this cluster holds but does not want out of it."""
        wanted = {m.addr for m in self.members}
        for addr, seen in sorted(self._claimed().items()):
            if addr in wanted:
                continue
            claim = claim_of(seen)
            what = f"{claim.role} {addr}"
            if claim.init:
                raise ProviderPermanentError(
                    f"host {addr} is this cluster's first server and cannot be removed; keep "
                    f"it first in {SPEC_PATH}.hostPools.servers"
                )
            if seen.state.version is not None:
                if claim.node in by_name:
                    left = await kube.drain(api, claim.node)
                    if left is None:
                        return f"draining node {claim.node} ({what}): K3s API not answering"
                    if left:
                        return f"draining node {claim.node} ({what}): {left} pods left"
                log.info("Uninstalling K3s from %s", what, extra=survey.fields(self.ref))
                await k3s.uninstall(seen.host, self.root, claim)
            if claim.node in by_name and not await kube.delete_node(api, claim.node):
                return f"removing node {claim.node} ({what}): K3s API not answering"
            await k3s.drop_claim(seen.host, self.root)
            return f"removed {what} (node {claim.node})"
        return None

    async def _upgrade_one(
        self, join: tuple[str, str], by_name: dict[str, kube.ApiNode]
    ) -> str | None:
        """The first host below the wanted version, one at a time, servers first."""
        for m in self.members:
            seen = self.seen[m.addr]
            node = by_name.get(claim_of(seen).node)
            if seen.state.version != self.version:
                message = f"upgrading K3s to {self.version} on {self._label(m)}"
                return await self._start(m, join=None if m.init else join, message=message)
            if node is None or node.version != self.version or not node.ready:
                return f"waiting for node {m.pool.node} to be Ready at {self.version}"
        return None

    def _label(self, m: Member) -> str:
        return f"{m.role} {m.addr} ({m.index}/{self.total} nodes)"

    def _report(
        self, nodes: list[kube.ApiNode] | None, server: str | None, message: str
    ) -> Observation:
        return survey.observation(
            self.ref, nodes, self._claimed(), endpoint=server, message=message
        )


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
