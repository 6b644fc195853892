"""The ssh provider end to end: a real ``orbit up``, the real CLI, real sshd hosts running the
stand-in K3s, and ``kubectl`` against the kubeconfig Orbit hands out.

- create (1 server, 2 agents) with a service delivered, scale to 3 agents, upgrade, delete;
  the hosts' install logs and files show each step;
- a credential pinning a wrong host key: the cluster fails, its status says which host;
- ``kill -9`` of Orbit while one host's install runs, then a restart: the install completes
  and no host was installed twice.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import yaml

from orbit.providers.base import ClusterRef
from orbit.providers.ssh import SshProvider
from tests.e2e.conftest import Orbit, new_orbit, wait_for

from .conftest import V1, V2, Lab, SshHost

pytestmark = pytest.mark.slow

KUBECTL = "/usr/bin/kubectl"


@pytest.fixture
def orbit(tmp_path: Path) -> Iterator[Orbit]:
    made = new_orbit(tmp_path / "orbit")
    yield made
    made.stop()


def manifests(lab: Lab, *, workers: int, bad_pin: bool = False) -> str:
    config = lab.credential_config()
    docs: list[dict[str, Any]] = [
        _doc(
            "Credential",
            "hosts",
            {
                "provider": "ssh",
                "config": config,
                "secretData": {"privateKey": lab.private_key()},
            },
        )
    ]
    for name, version, k8s, upgrade in (("k3s-1-0-0", "1.0.0", V1, ["k3s-1-1-0"]),
                                        ("k3s-1-1-0", "1.1.0", V2, [])):  # fmt: skip
        docs.append(
            _doc(
                "ClusterTemplate",
                name,
                {
                    "provider": "ssh",
                    "version": version,
                    "kubernetesVersion": k8s,
                    "parameters": {
                        "type": "object",
                        "properties": {"workers": {"type": "integer", "default": 2}},
                    },
                    "cluster": {
                        "controlPlane": {"count": 1},
                        "workers": {"count": "{{ workers }}"},
                        "providerSpec": lab.provider_spec(),
                    },
                    "upgradeTo": upgrade,
                },
            )
        )
    docs.append(
        _doc(
            "ServiceTemplate",
            "settings-1-0-0",
            {
                "version": "1.0.0",
                "resources": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
                'data: {cluster: "{{ cluster.name }}"}\n',
            },
        )
    )
    docs.append(
        _doc(
            "ClusterDeployment",
            "demo",
            {
                "template": "k3s-1-0-0",
                "credential": "hosts",
                "config": {"workers": workers},
                "services": [{"name": "settings", "template": "settings-1-0-0"}],
            },
        )
    )
    if bad_pin:
        wrong = asyncssh.generate_private_key("ssh-ed25519")
        pins = lab.known_hosts().replace(
            lab.hosts[0].known_hosts_line(), lab.hosts[0].known_hosts_line(wrong)
        )
        docs.append(
            _doc(
                "Credential",
                "forged",
                {
                    "provider": "ssh",
                    "config": {**config, "knownHosts": pins},
                    "secretData": {"privateKey": lab.private_key()},
                },
            )
        )
        docs.append(
            _doc(
                "ClusterDeployment",
                "intruder",
                {"template": "k3s-1-0-0", "credential": "forged", "config": {"workers": 1}},
            )
        )
    return yaml.safe_dump_all(docs, sort_keys=False)


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "orbit.k8or.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def apply(orbit: Orbit, text: str, path: Path) -> None:
    path.write_text(text)
    orbit.ok("apply", "-f", str(path))


def cluster(orbit: Orbit, name: str = "demo") -> dict[str, Any]:
    return orbit.get_json("cluster", name)  # type: ignore[no-any-return]


def phase_is(orbit: Orbit, want: str, name: str = "demo") -> bool:
    return cluster(orbit, name)["status"].get("phase") == want


def kubectl(kubeconfig: Path, *args: str) -> str:
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def installs(host: SshHost) -> list[str]:
    return [line for line in host.log() if line.startswith("install")]


def test_create_deliver_scale_upgrade_delete(lab: Lab, orbit: Orbit, tmp_path: Path) -> None:
    orbit.start()
    apply(orbit, manifests(lab, workers=2, bad_pin=True), tmp_path / "all.yaml")
    tail = orbit.log_tail
    wait_for(lambda: phase_is(orbit, "Ready"), timeout=240, what="demo Ready", on_fail=tail)
    s, a1, a2, a3 = lab.hosts
    assert installs(s) == [f"install server {V1} {s.address}"]
    assert installs(a1) == [f"install agent {V1} {a1.address}"]
    assert installs(a2) == [f"install agent {V1} {a2.address}"]
    assert installs(a3) == []
    status = cluster(orbit)["status"]
    assert status["nodes"]["ready"] == 3 and status["message"].startswith("running 3 nodes")

    # The wrong pin is refused: nothing happens on the host, the status says why.
    wait_for(lambda: phase_is(orbit, "Failed", "intruder"), timeout=60, what="intruder Failed")
    message = cluster(orbit, "intruder")["status"]["message"]
    assert f"host {s.address}:{s.port}: its host key does not match" in message
    assert "BEGIN" not in json.dumps(cluster(orbit, "intruder"))

    # The provider's kubeconfig: K3s's own, pointed at the server's address.
    ref = ClusterRef(uid=cluster(orbit)["metadata"]["uid"], namespace="default", name="demo")
    config = tmp_path / "kubeconfig"
    config.write_bytes(asyncio.run(SshProvider().kubeconfig(ref, lab.credential())))
    assert f"server: https://{s.address}:{lab.api_port}" in config.read_text()
    # Orbit's own (through its AccessPoint) reaches the same cluster.
    access = tmp_path / "orbit-kubeconfig"
    access.write_text(orbit.ok("kubeconfig", "demo"))
    assert s.address in kubectl(access, "get", "nodes")
    nodes = kubectl(config, "get", "nodes", "-o", "json")
    assert sorted(n["metadata"]["name"] for n in json.loads(nodes)["items"]) == [
        s.address, a1.address, a2.address
    ]  # fmt: skip

    def delivered() -> bool:
        done = subprocess.run(
            [KUBECTL, "--kubeconfig", str(config), "get", "configmap", "settings", "-o", "json"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return done.returncode == 0 and json.loads(done.stdout)["data"]["cluster"] == "demo"

    wait_for(delivered, timeout=120, what="the settings ConfigMap delivered", on_fail=tail)

    orbit.ok("scale", "cluster", "demo", "--workers", "3", "--wait", "--timeout", "4m")
    assert installs(a3) == [f"install agent {V1} {a3.address}"]
    assert installs(s) == [f"install server {V1} {s.address}"]  # nothing redone
    assert len(json.loads(kubectl(config, "get", "nodes", "-o", "json"))["items"]) == 4

    orbit.ok("upgrade", "cluster", "demo", "--template", "k3s-1-1-0", "--wait", "--timeout", "5m")
    for host, role in ((s, "server"), (a1, "agent"), (a2, "agent"), (a3, "agent")):
        assert installs(host) == [
            f"install {role} {V1} {host.address}",
            f"install {role} {V2} {host.address}",
        ]
    versions = kubectl(
        config, "get", "nodes", "-o", "jsonpath={.items[*].status.nodeInfo.kubeletVersion}"
    )
    assert versions.split() == [V2] * 4
    assert {n["kubernetesVersion"] for n in cluster(orbit)["status"]["nodes"]["items"]} == {V2}

    orbit.ok("scale", "cluster", "demo", "--workers", "1", "--wait", "--timeout", "4m")
    assert a2.log()[-1] == f"uninstall agent {a2.address}"
    assert a3.log()[-1] == f"uninstall agent {a3.address}"
    assert not a3.path("usr/local/bin/k3s").exists()
    assert len(json.loads(kubectl(config, "get", "nodes", "-o", "json"))["items"]) == 2

    orbit.ok("delete", "cluster", "demo", "--wait", "--timeout", "3m")
    for host in (s, a1):
        assert host.log()[-1].startswith("uninstall")
        assert not host.path("usr/local/bin/k3s").exists()
        assert not host.path("etc/rancher/k3s/k3s.yaml").exists()
    assert list(lab.state_dir.glob("*/claim.json")) == []
    assert "BEGIN OPENSSH" not in orbit.log_tail(100000)


def test_kill_9_mid_install_resumes_without_redoing(lab: Lab, orbit: Orbit, tmp_path: Path) -> None:
    s, a1, a2, _ = lab.hosts
    a2.root.mkdir(parents=True, exist_ok=True)
    (a2.root / "slow").write_text("12")
    orbit.start()
    apply(orbit, manifests(lab, workers=2), tmp_path / "all.yaml")

    def agent2_installing() -> bool:
        message = cluster(orbit)["status"].get("message") or ""
        return f"installing K3s {V1} on agent {a2.address}" in message and bool(installs(a1))

    wait_for(
        agent2_installing, timeout=180, what="the slow install running", on_fail=orbit.log_tail
    )
    assert installs(a2) == []
    orbit.kill()

    orbit.start()
    wait_for(
        lambda: phase_is(orbit, "Ready"), timeout=180, what="demo Ready", on_fail=orbit.log_tail
    )
    for host, role in ((s, "server"), (a1, "agent"), (a2, "agent")):
        assert installs(host) == [f"install {role} {V1} {host.address}"], host.log()
    orbit.ok("delete", "cluster", "demo", "--wait", "--timeout", "3m")
