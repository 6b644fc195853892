"""The provider contract suite: what every provider (``sim``, ``ssh``, ``k3d``, ``capi``, a
plug-in) must do, whatever its infrastructure. Shipped with Orbit, as httpx ships its
MockTransport, so a plug-in's own tests run it; it needs pytest (docs/providers.md).

A provider's test module subclasses :class:`ProviderContract` and gives a ``harness`` fixture
returning a :class:`Harness`: the provider, a credential for it, desired clusters, and
``settle()``, which lets the infrastructure make progress between calls (advance a fake clock,
play a Cluster API controller, let a host finish a step). The suite then checks, through the
four contract methods only, that

- a cluster that was never created is observed as None, its kubeconfig is NotFound, and its
  deletion is already gone;
- ``ensure_cluster`` called again and again converges to the desired nodes, all Ready at the
  desired version, and calling it once more changes nothing (idempotent, no second cluster);
- scaling the workers up and down and upgrading the version converge the same way;
- the kubeconfig names a server and a credential for it;
- ``delete_cluster`` called until gone leaves nothing (observe is None) and stays gone;
- a credential for another provider is a ProviderPermanentError.

Convergence loops are bounded (``Harness.max_steps``) and stop by themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    DesiredCluster,
    NodeRole,
    Observation,
    Provider,
    ProviderPermanentError,
)

SettleFn = Callable[[], Awaitable[None]]


@dataclass
class Harness:
    """One provider under test and what it needs."""

    provider: Provider
    credential: v1alpha1.Credential
    settle: SettleFn
    versions: tuple[str, str]
    provider_spec: dict[str, Any] = field(default_factory=dict)
    control_plane_size: str = "small"
    worker_size: str = "small"
    max_steps: int = 60
    #: The most workers the infrastructure can hold (hosts in a pool, say); the suite scales
    #: from 1 to this and back to 1.
    max_workers: int = 2

    def desired(
        self, ref: ClusterRef, *, workers: int = 1, version: str | None = None
    ) -> DesiredCluster:
        return DesiredCluster(
            ref=ref,
            kubernetes_version=version or self.versions[0],
            control_plane=v1alpha1.MachineGroup(count=1, machine_size=self.control_plane_size),
            workers=v1alpha1.MachineGroup(count=workers, machine_size=self.worker_size),
            labels={"contract": "yes"},
            provider_spec=self.provider_spec,
        )

    def other_credential(self) -> v1alpha1.Credential:
        """A credential that names another provider."""
        other = "sim" if self.provider.name != "sim" else "ssh"
        spec = self.credential.spec.model_copy(update={"provider": other})
        return self.credential.model_copy(update={"spec": spec})


def converged(obs: Observation, want: DesiredCluster) -> bool:
    """Every wanted node is there, Ready, at the wanted version, and no other node is."""
    groups: tuple[tuple[NodeRole, v1alpha1.MachineGroup], ...] = (
        ("control-plane", want.control_plane),
        ("worker", want.workers),
    )
    for role, group in groups:
        nodes = obs.group(role)
        if len(nodes) != group.count:
            return False
        if not all(n.ready and n.kubernetes_version == want.kubernetes_version for n in nodes):
            return False
    return obs.infrastructure_ready


async def converge(h: Harness, want: DesiredCluster) -> Observation:
    """Call ensure_cluster until the observation matches ``want`` (bounded)."""
    obs = await h.provider.ensure_cluster(want, h.credential)
    for _ in range(h.max_steps):
        if converged(obs, want):
            return obs
        await h.settle()
        obs = await h.provider.ensure_cluster(want, h.credential)
    assert converged(obs, want), f"did not converge in {h.max_steps} steps: {obs}"
    return obs


async def delete(h: Harness, ref: ClusterRef) -> None:
    for _ in range(h.max_steps):
        if (await h.provider.delete_cluster(ref, h.credential)).gone:
            return
        await h.settle()
    pytest.fail(f"{h.provider.name}: cluster not gone after {h.max_steps} steps")


class ProviderContract:
    """Subclass with a ``harness`` fixture; every test here runs against that provider."""

    ref = ClusterRef(uid="0c0c0c0c-contract", namespace="team-a", name="contract")

    async def test_a_cluster_never_created(self, harness: Harness) -> None:
        p, cred = harness.provider, harness.credential
        assert await p.observe(self.ref, cred) is None
        with pytest.raises(errors.NotFound):
            await p.kubeconfig(self.ref, cred)
        assert (await p.delete_cluster(self.ref, cred)).gone

    async def test_create_converges_and_is_idempotent(self, harness: Harness) -> None:
        want = harness.desired(self.ref, workers=1)
        obs = await converge(harness, want)
        assert obs.ref.uid == self.ref.uid
        names = sorted(n.name for n in obs.nodes)
        again = await harness.provider.ensure_cluster(want, harness.credential)
        assert converged(again, want)
        assert sorted(n.name for n in again.nodes) == names, "a second ensure changed the nodes"
        observed = await harness.provider.observe(self.ref, harness.credential)
        assert observed is not None and converged(observed, want)

    async def test_scale_up_and_down(self, harness: Harness) -> None:
        await converge(harness, harness.desired(self.ref, workers=1))
        up = await converge(harness, harness.desired(self.ref, workers=harness.max_workers))
        assert len(up.group("worker")) == harness.max_workers
        down = await converge(harness, harness.desired(self.ref, workers=1))
        assert len(down.group("worker")) == 1

    async def test_upgrade(self, harness: Harness) -> None:
        old, new = harness.versions
        await converge(harness, harness.desired(self.ref, workers=1, version=old))
        obs = await converge(harness, harness.desired(self.ref, workers=1, version=new))
        assert {n.kubernetes_version for n in obs.nodes} == {new}

    async def test_kubeconfig(self, harness: Harness) -> None:
        await converge(harness, harness.desired(self.ref, workers=1))
        config = yaml.safe_load(await harness.provider.kubeconfig(self.ref, harness.credential))
        server = urlsplit(config["clusters"][0]["cluster"]["server"])
        assert server.scheme in ("http", "https") and server.netloc
        user = config["users"][0]["user"]
        assert user.get("token") or user.get("client-certificate-data")

    async def test_delete_leaves_nothing(self, harness: Harness) -> None:
        await converge(harness, harness.desired(self.ref, workers=1))
        await delete(harness, self.ref)
        assert await harness.provider.observe(self.ref, harness.credential) is None
        assert (await harness.provider.delete_cluster(self.ref, harness.credential)).gone

    async def test_a_credential_for_another_provider_is_permanent(self, harness: Harness) -> None:
        with pytest.raises(ProviderPermanentError):
            await harness.provider.ensure_cluster(
                harness.desired(self.ref), harness.other_credential()
            )
