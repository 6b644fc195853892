"""orbit describe: metadata, spec, status, conditions, nodes, upgrades, expiry, Events."""

from __future__ import annotations

from orbit.api import v1alpha1
from orbit.client import OrbitClient

from .conftest import Cli
from .helpers import cluster, set_status, setup


def event(
    client: OrbitClient, name: str, *, about: str, reason: str, uid: str | None = None
) -> None:
    client.create_raw(
        v1alpha1.Event,
        {
            "metadata": {"name": name},
            "involvedObject": {
                "kind": "ClusterDeployment",
                "name": about,
                "namespace": "default",
                "uid": uid,
            },
            "reason": reason,
            "message": f"{reason} for {about}",
            "type": "Warning" if reason == "Failed" else "Normal",
            "lastTimestamp": "2024-01-01T10:00:00Z",
        },
    )


def test_describe_cluster(cli: Cli, client: OrbitClient) -> None:
    doc = cluster(workers=2, labels={"env": "dev"})
    doc["spec"]["ttl"] = "2h"
    setup(client, doc, cluster("other"))
    set_status(
        client,
        "dev",
        phase="Ready",
        kubernetesVersion="v1.30.2",
        endpoint="https://10.0.0.1:6443",
        availableUpgrades=["sim-next", "sim-later"],
        nodes={
            "ready": 2,
            "total": 3,
            "versions": {"v1.30.2": 3},
            "items": [
                {
                    "name": "dev-cp-0",
                    "role": "control-plane",
                    "kubernetesVersion": "v1.30.2",
                    "ready": True,
                    "machineSize": "small",
                },
                {
                    "name": "dev-w-0",
                    "role": "worker",
                    "kubernetesVersion": "v1.30.2",
                    "ready": False,
                    "machineSize": "large",
                },
            ],
        },
        conditions=[
            {
                "type": "Ready",
                "status": "True",
                "reason": "Succeeded",
                "message": "cluster is ready",
                "lastTransitionTime": "2024-01-01T10:00:00Z",
            },
            {
                "type": "WorkersReady",
                "status": "False",
                "reason": "WaitingForNodes",
                "message": "1 of 2 workers not ready",
            },
        ],
    )
    uid = client.get(v1alpha1.ClusterDeployment, "dev").metadata.uid
    event(client, "ev-1", about="dev", reason="Provisioned", uid=uid)
    event(client, "ev-2", about="other", reason="Unrelated")
    event(client, "ev-3", about="dev", reason="Stale", uid="an-earlier-incarnation")

    out = cli.ok("describe cluster dev")
    lines = out.splitlines()
    assert lines[0].split() == ["Name:", "dev"]
    assert "Labels:                 env=dev" in lines
    assert "  template: sim-small" in lines
    assert "    workers: 2" in lines
    assert "  ttl: 2h" in lines
    assert "  Phase:                Ready" in lines
    assert "  Nodes:                2/3 ready (v1.30.2 (3))" in lines
    assert "  Endpoint:             https://10.0.0.1:6443" in lines
    assert "  Upgrades available:   sim-next, sim-later" in lines
    assert any(line.startswith("  Expires:") and "(in 1" in line for line in lines)

    conditions = lines.index("Conditions:")
    assert lines[conditions + 1].split() == ["TYPE", "STATUS", "REASON", "MESSAGE", "AGE"]
    assert lines[conditions + 2].split()[:4] == ["Ready", "True", "Succeeded", "cluster"]
    assert lines[conditions + 3].split()[:3] == ["WorkersReady", "False", "WaitingForNodes"]

    nodes = lines.index("Nodes:")
    assert lines[nodes + 1].split() == ["NAME", "ROLE", "VERSION", "READY", "SIZE"]
    assert lines[nodes + 2].split() == ["dev-cp-0", "control-plane", "v1.30.2", "True", "small"]
    assert lines[nodes + 3].split() == ["dev-w-0", "worker", "v1.30.2", "False", "large"]

    events = lines.index("Events:")
    assert lines[events + 1].split() == ["LAST", "SEEN", "TYPE", "REASON", "MESSAGE"]
    assert "Provisioned for dev" in lines[events + 2]
    assert "Unrelated" not in out
    assert "Stale" not in out


def test_describe_other_kinds(cli: Cli, client: OrbitClient) -> None:
    setup(client)
    out = cli.ok("describe ct sim-small")
    assert "Kind:                   ClusterTemplate" in out
    assert "  provider: sim" in out
    assert out.rstrip().endswith("Events:\n  <none>")
    ns = cli.ok("describe ns default")
    assert "Namespace:" not in ns
    assert ns.splitlines()[0].split() == ["Name:", "default"]


def test_describe_missing_object(cli: Cli) -> None:
    result = cli("describe cd ghost")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "ghost" in result.stderr
