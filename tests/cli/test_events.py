"""orbit events: every Event, or one object's, oldest first."""

from __future__ import annotations

from orbit.api import v1alpha1
from orbit.client import OrbitClient

from .conftest import Cli
from .helpers import namespace


def event(
    client: OrbitClient, name: str, *, kind: str, about: str, at: str, ns: str = "default"
) -> None:
    client.create_raw(
        v1alpha1.Event,
        {
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": kind, "name": about, "namespace": ns},
            "reason": f"R-{name}",
            "message": f"{name} happened",
            "firstTimestamp": at,
            "lastTimestamp": at,
            "count": 2 if name == "e3" else 1,
        },
        namespace=ns,
    )


def world(client: OrbitClient) -> None:
    client.apply(namespace("team"))
    event(client, "e1", kind="ClusterDeployment", about="dev", at="2024-01-01T10:03:00Z")
    event(client, "e2", kind="ClusterDeployment", about="prod", at="2024-01-01T10:01:00Z")
    event(client, "e3", kind="ClusterDeployment", about="dev", at="2024-01-01T10:02:00Z")
    event(client, "e4", kind="Credential", about="dev", at="2024-01-01T10:00:00Z")
    event(client, "e5", kind="ClusterDeployment", about="dev", at="2024-01-01T09:00:00Z", ns="team")


def reasons(out: str) -> list[str]:
    return [line.split()[-4] for line in out.splitlines()[1:]]


def test_all_events_in_the_namespace_oldest_first(cli: Cli, client: OrbitClient) -> None:
    world(client)
    out = cli.ok("events")
    assert out.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert reasons(out) == ["R-e4", "R-e2", "R-e3", "R-e1"]
    assert "(x2)" in out.splitlines()[3]


def test_events_of_one_object(cli: Cli, client: OrbitClient) -> None:
    world(client)
    out = cli.ok("events cluster/dev")
    assert reasons(out) == ["R-e3", "R-e1"]
    assert all("clusterdeployment/dev" in line for line in out.splitlines()[1:])
    assert reasons(cli.ok("events cred/dev")) == ["R-e4"]


def test_events_across_namespaces(cli: Cli, client: OrbitClient) -> None:
    world(client)
    out = cli.ok("events -A clusterdeployment/dev")
    lines = out.splitlines()
    assert lines[0].split()[0] == "NAMESPACE"
    assert [line.split()[0] for line in lines[1:]] == ["team", "default", "default"]
    assert cli.ok("events -n team").count("happened") == 1


def test_events_bad_target(cli: Cli) -> None:
    assert cli("events dev").exit_code == 2
    assert cli("events widget/dev").exit_code == 2
    result = cli("events cluster/dev")
    assert result.exit_code == 0
    assert result.stderr == "No events found in namespace default.\n"
