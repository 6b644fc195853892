"""The ssh provider's steps, one behaviour each, through its contract on real sshd hosts running
the stand-in K3s: upgrades one node at a time, each after the last is Ready at the new version;
a scale-down drains the node before uninstalling it; the install script by URL (and a failed
download); INSTALL_K3S_* passthrough; host keys (no trust on first use where no template allows
it, and a key learned on first use is kept); commandTimeout; the first server's
--cluster-init."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from orbit.api import v1alpha1
from orbit.errors import NotFound
from orbit.providers.base import (
    ClusterRef,
    DesiredCluster,
    Observation,
    ProviderPermanentError,
    ProviderTransientError,
)
from orbit.providers.ssh import SshProvider
from orbit.providers.ssh.hosts import Access, HostAddr, Hosts
from tests.sshd import start_sshd, stop_sshd, wait_listening

from .conftest import V1, V2, Lab

pytestmark = pytest.mark.slow  # real sshd hosts and stand-in servers

REF = ClusterRef(uid="5teps-uid", namespace="team-a", name="steps")
KUBECTL = "/usr/bin/kubectl"


def desired(spec: dict[str, Any], *, workers: int, version: str = V1) -> DesiredCluster:
    return DesiredCluster(
        ref=REF,
        kubernetes_version=version,
        control_plane=v1alpha1.MachineGroup(count=1),
        workers=v1alpha1.MachineGroup(count=workers),
        provider_spec=spec,
    )


async def converge(
    provider: SshProvider, want: DesiredCluster, cred: v1alpha1.Credential, steps: int = 200
) -> Observation:
    total = want.control_plane.count + want.workers.count
    done = f"running {total} nodes at {want.kubernetes_version}"
    for _ in range(steps):
        obs = await provider.ensure_cluster(want, cred)
        if obs.message == done:
            return obs
        await asyncio.sleep(0.3)
    raise AssertionError(f"not converged after {steps} steps: {obs.message}")


def starts(lab: Lab, version: str) -> dict[str, float]:
    """When each host's install at ``version`` began (from its stand-in install log)."""
    out = {}
    for host in lab.hosts:
        for at, what in host.timed_log():
            if what.startswith("begin ") and f" {version} " in f"{what} ":
                out[host.address] = at
    return out


async def test_upgrade_one_node_at_a_time_each_after_the_last_is_ready(lab: Lab) -> None:
    provider, cred = SshProvider(), lab.credential()
    spec = lab.provider_spec(hosts=3)  # 11 server; 12, 13 agents
    await converge(provider, desired(spec, workers=2), cred)
    s, a1, a2 = lab.hosts[:3]
    # One server in the pool: the first server still starts with embedded etcd, so servers can
    # be added later; agents never get the flag.
    assert "--cluster-init" in s.path("etc/systemd/system/k3s.service").read_text()
    assert "--cluster-init" not in a1.path("etc/systemd/system/k3s-agent.service").read_text()

    await converge(provider, desired(spec, workers=2, version=V2), cred)
    began = starts(lab, V2)
    ready = {
        what.split()[1]: at for at, what in lab.events() if what.startswith("ready") and V2 in what
    }
    order = [s.address, a1.address, a2.address]  # servers first, then the pool's order
    assert set(began) == set(ready) == set(order), (began, ready)
    for this, after in itertools.pairwise(order):
        # The next node's install began only once this one was Ready at the new version.
        assert ready[this] < began[after], (this, after, ready, began)
    assert (await provider.delete_cluster(REF, cred)).gone


def kubectl(config: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(config), *args],
        capture_output=True, text=True, timeout=60, check=False, input=stdin,
    )  # fmt: skip
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


async def test_scale_down_drains_the_node_before_uninstalling_it(lab: Lab, tmp_path: Path) -> None:
    provider, cred = SshProvider(), lab.credential()
    spec = lab.provider_spec(hosts=3)
    await converge(provider, desired(spec, workers=2), cred)
    config = tmp_path / "kubeconfig"
    config.write_bytes(await provider.kubeconfig(REF, cred))
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {  # requests: the simulation spreads the pods over the workers
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "resources": {"requests": {"cpu": "100m"}},
                        }
                    ]
                },
            },
        },
    }
    kubectl(config, "apply", "-f", "-", stdin=json.dumps(deployment))
    leaving = lab.hosts[2].address

    def pods_on(node: str) -> list[str]:
        pods = json.loads(kubectl(config, "get", "pods", "-A", "-o", "json"))["items"]
        return [
            f"{p['metadata']['namespace']}/{p['metadata']['name']}"
            for p in pods
            if p["spec"].get("nodeName") == node
        ]

    for _ in range(100):
        on_leaving = pods_on(leaving)
        if on_leaving:
            break
        await asyncio.sleep(0.2)
    assert on_leaving, "no pod was scheduled on the node to remove"

    await converge(provider, desired(spec, workers=1), cred)
    uninstalled = next(at for at, what in lab.hosts[2].timed_log() if what.startswith("uninstall"))
    events = lab.events()
    cordoned = [at for at, what in events if what == f"cordon {leaving} True"]
    assert cordoned and cordoned[0] < uninstalled, events
    # The simulated API reschedules a cordoned node's pods at once (as if evicted), so the drain
    # finds none left to evict; its eviction and delete fallback are test_ssh_provider's.
    assert pods_on(leaving) == []
    pods = json.loads(kubectl(config, "get", "pods", "-n", "default", "-o", "json"))["items"]
    assert len(pods) == 4 and {p["spec"]["nodeName"] for p in pods} == {lab.hosts[1].address}
    assert (await provider.delete_cluster(REF, cred)).gone


def by_url(lab: Lab, base: str, *, script: str = "/install.sh") -> dict[str, Any]:
    spec = lab.provider_spec(hosts=1)
    del spec["airGap"]
    spec["installScriptUrl"] = base + script
    spec["env"] = {
        **spec["env"],
        "K3S_STANDIN_DOWNLOAD": base,
        "INSTALL_K3S_CHANNEL": "stable",
        "INSTALL_K3S_SELINUX_WARN": "true",
    }
    return spec


async def test_install_script_by_url_with_install_k3s_settings(
    lab: Lab, install_server: str
) -> None:
    provider, cred = SshProvider(), lab.credential()
    obs = await converge(provider, desired(by_url(lab, install_server), workers=0), cred)
    host = lab.hosts[0]
    assert [n.kubernetes_version for n in obs.nodes] == [V1]
    assert host.log()[-1] == f"install server {V1} {host.address}"
    # The template's INSTALL_K3S_* settings reach the install script's environment.
    env = host.path("install.env").read_text().splitlines()
    assert "INSTALL_K3S_CHANNEL=stable" in env and "INSTALL_K3S_SELINUX_WARN=true" in env
    assert f"INSTALL_K3S_VERSION={V1}" in env
    assert "INSTALL_K3S_SKIP_DOWNLOAD=true" not in env
    assert (await provider.delete_cluster(REF, cred)).gone


async def test_a_failed_download_of_the_install_script_is_a_clear_error(
    lab: Lab, install_server: str
) -> None:
    provider, cred = SshProvider(), lab.credential()
    want = desired(by_url(lab, install_server, script="/missing.sh"), workers=0)
    for _ in range(100):
        try:
            obs = await provider.ensure_cluster(want, cred)
        except ProviderTransientError as err:
            message = str(err)
            break
        assert obs.message.startswith("installing K3s")
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the failed download was never reported")
    host = lab.hosts[0]
    assert f"could not download the install script from {install_server}/missing.sh" in message
    assert "providerSpec.installScriptUrl" in message
    assert not [line for line in host.log() if line.startswith(("begin", "install"))]
    assert (await provider.delete_cluster(REF, cred)).gone


def test_reserved_and_foreign_env_names_are_refused_with_their_path() -> None:
    for name in ("INSTALL_K3S_EXEC", "INSTALL_K3S_VERSION", "K3S_TOKEN", "PATH"):
        spec = {"hostPools": {"servers": [{"address": "10.0.0.1"}]}, "env": {name: "x"}}
        key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        cred = v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="c", namespace="team-a"),
            spec=v1alpha1.CredentialSpec(provider="ssh", secret_data={"privateKey": key}),
        )
        with pytest.raises(ProviderPermanentError) as err:
            asyncio.run(SshProvider().ensure_cluster(desired(spec, workers=0), cred))
        assert "spec.cluster.providerSpec.env" in str(err.value) and name in str(err.value)


def unpinned(lab: Lab) -> v1alpha1.Credential:
    host = lab.hosts[0]
    cred = lab.credential(known_hosts="")
    cred.spec.config["hosts"] = [f"{host.address}:{host.port}"]
    return cred


async def test_observe_delete_and_kubeconfig_never_trust_a_new_host_key(
    lab: Lab, tmp_path: Path
) -> None:
    cred, host = unpinned(lab), lab.hosts[0]
    spec = {**lab.provider_spec(hosts=1), "trustOnFirstUse": True}
    provider = SshProvider()
    await converge(provider, desired(spec, workers=0), cred)
    assert (await provider.observe(REF, cred)) is not None  # through the key it learned
    # An Orbit Plane that never learned the key (no template allowing it here): the host's
    # claim and its admin kubeconfig are not read, and deletion refuses to guess.
    stranger = SshProvider(host_keys=tmp_path / "elsewhere")
    assert await stranger.observe(REF, cred) is None
    with pytest.raises(NotFound):
        await stranger.kubeconfig(REF, cred)
    with pytest.raises(ProviderPermanentError, match="nor learned on first use"):
        await stranger.delete_cluster(REF, cred)
    assert not list((tmp_path / "elsewhere").rglob("*.pub"))
    assert (await provider.delete_cluster(REF, cred)).gone
    assert host.log()[-1].startswith("uninstall")


async def test_the_key_learned_on_first_use_is_kept_and_a_new_one_refused(lab: Lab) -> None:
    cred, host = unpinned(lab), lab.hosts[0]
    spec = {**lab.provider_spec(hosts=1), "trustOnFirstUse": True}
    provider = SshProvider()
    obs = await provider.ensure_cluster(desired(spec, workers=0), cred)
    assert obs.message.startswith("installing K3s")
    # The host comes back with another key (a reinstalled host, or someone in the middle).
    stop_sshd(host)
    host.host_key = asyncssh.generate_private_key("ssh-ed25519")
    host.proc = start_sshd(host, lab.authorized_keys())
    wait_listening(host)
    with pytest.raises(ProviderPermanentError) as err:
        await provider.ensure_cluster(desired(spec, workers=0), cred)
    assert f"host {host.address}:{host.port}: its host key does not match the key learned" in (
        str(err.value)
    )
    with pytest.raises(ProviderPermanentError, match="does not match the key learned"):
        await provider.delete_cluster(REF, cred)


async def test_a_command_longer_than_command_timeout_fails_clearly(lab: Lab) -> None:
    host = lab.hosts[0]
    access = Access(lab.credential())
    async with Hosts(access, command_timeout=0.5) as hosts:
        conn = await hosts.connect(HostAddr(host.address, host.port))
        with pytest.raises(ProviderTransientError) as err:
            await conn.run("sleep 5")
    assert "ran longer than 0.5 s (providerSpec.commandTimeout)" in str(err.value)
    # Through the provider: a k3s binary that hangs when asked its version.
    hung = host.path("usr/local/bin/k3s")
    hung.parent.mkdir(parents=True, exist_ok=True)
    hung.write_text("#!/bin/sh\nsleep 5\n")
    hung.chmod(0o755)
    spec = {**lab.provider_spec(hosts=1), "commandTimeout": 1}
    with pytest.raises(ProviderTransientError, match=r"ran longer than 1 s"):
        await SshProvider().ensure_cluster(desired(spec, workers=0), lab.credential())
