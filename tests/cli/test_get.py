"""orbit get: tables per kind, -o yaml/json, -A, -l, short names, -w."""

from __future__ import annotations

import json
import threading

import pytest
import yaml

from orbit.api import v1alpha1
from orbit.client import OrbitClient

from .conftest import Cli
from .helpers import cluster, credential, namespace, set_status, setup, template


def rows(text: str) -> list[list[str]]:
    """Plain table output as cells (columns are separated by at least two spaces)."""
    return [[cell for cell in line.split("  ") if cell.strip()] for line in text.splitlines()]


def cells(text: str) -> list[list[str]]:
    return [[c.strip() for c in row] for row in rows(text)]


@pytest.mark.parametrize(
    "kind", ["clusterdeployments", "clusterdeployment", "cd", "cluster", "clusters", "CD"]
)
def test_kind_by_any_name(cli: Cli, client: OrbitClient, kind: str) -> None:
    setup(client, cluster())
    out = cli.ok(["get", kind])
    assert cells(out)[0] == ["NAME", "TEMPLATE", "PHASE", "NODES", "VERSION", "AGE", "EXPIRES"]
    assert cells(out)[1][:5] == ["dev", "sim-small", "Pending", "0/0", "-"]


def test_cluster_table_wide_shows_status(cli: Cli, client: OrbitClient) -> None:
    doc = cluster(workers=2)
    doc["spec"]["ttl"] = "2h"
    setup(client, doc)
    set_status(
        client,
        "dev",
        phase="Ready",
        nodes={"ready": 2, "total": 3},
        kubernetesVersion="v1.30.2",
        endpoint="https://10.0.0.1:6443",
        message="all good",
    )
    table = cells(cli.ok("get clusters -o wide"))
    assert table[0] == [
        "NAME",
        "TEMPLATE",
        "PHASE",
        "NODES",
        "VERSION",
        "AGE",
        "EXPIRES",
        "CREDENTIAL",
        "ENDPOINT",
        "MESSAGE",
    ]
    name, tmpl, phase, nodes, version, _age, expires, cred, endpoint, message = table[1]
    assert (name, tmpl, phase, nodes, version) == ("dev", "sim-small", "Ready", "2/3", "v1.30.2")
    assert expires.startswith("in 1")
    assert expires.endswith("m")
    assert (cred, endpoint, message) == ("sim-creds", "https://10.0.0.1:6443", "all good")


def test_other_kinds_tables(cli: Cli, client: OrbitClient) -> None:
    setup(client, template("sim-next"), template("sim-old", upgradeTo=["sim-small", "sim-next"]))
    client.apply(credential("ssh-creds", provider="ssh"))
    assert cells(cli.ok("get ct")) == [
        ["NAME", "PROVIDER", "VERSION", "KUBERNETES", "UPGRADES-TO"],
        ["sim-next", "sim", "1.0.0", "v1.30.2", "-"],
        ["sim-old", "sim", "1.0.0", "v1.30.2", "sim-small,sim-next"],
        ["sim-small", "sim", "1.0.0", "v1.30.2", "-"],
    ]
    assert cells(cli.ok("get cred")) == [
        ["NAME", "PROVIDER", "READY"],
        ["sim-creds", "sim", "Unknown"],
        ["ssh-creds", "ssh", "Unknown"],
    ]
    ns_table = cells(cli.ok("get ns"))
    assert ns_table[0] == ["NAME", "AGE"]
    assert ns_table[1][0] == "default"


def test_identity_kinds_tables(cli: Cli, client: OrbitClient) -> None:
    client.apply(
        {
            "apiVersion": "orbit.k8or.io/v1alpha1",
            "kind": "User",
            "metadata": {"name": "ana"},
            "spec": {"displayName": "Ana", "groups": ["devs", "ops"]},
        }
    )
    client.apply(
        {
            "apiVersion": "orbit.k8or.io/v1alpha1",
            "kind": "RoleBinding",
            "metadata": {"name": "devs-edit", "namespace": "default"},
            "spec": {"role": "namespace-editor", "subjects": [{"kind": "Group", "name": "devs"}]},
        }
    )
    client.apply(
        {
            "apiVersion": "orbit.k8or.io/v1alpha1",
            "kind": "AccessRule",
            "metadata": {"name": "basics"},
            "spec": {"targetNamespaces": {"list": ["default"]}, "clusterTemplates": ["sim-*"]},
        }
    )
    users = cells(cli.ok("get users"))
    assert users[0] == ["NAME", "DISPLAY NAME", "GROUPS", "DISABLED", "AGE"]
    assert users[1][:4] == ["admin", "Orbit administrator", "-", "no"]
    assert users[2][:4] == ["ana", "Ana", "devs,ops", "no"]
    bindings = cells(cli.ok("get rolebindings"))
    assert bindings[1][:3] == ["devs-edit", "namespace-editor", "Group/devs"]
    assert cells(cli.ok("get crb"))[1][:3] == ["orbit-admins", "global-admin", "User/admin"]
    assert cells(cli.ok("get accessrules")) == [
        ["NAME", "NAMESPACES", "CLUSTER TEMPLATES", "SERVICE TEMPLATES", "CREDENTIALS"],
        ["basics", "default", "sim-*", "-", "-"],
    ]


def test_all_namespaces_and_selector(cli: Cli, client: OrbitClient) -> None:
    client.apply(namespace("team"))
    setup(client, cluster("a", labels={"env": "dev"}), cluster("b", labels={"env": "prod"}))
    setup(client, cluster("c", labels={"env": "dev"}), ns="team")
    table = cells(cli.ok("get cd -A"))
    assert table[0][:2] == ["NAMESPACE", "NAME"]
    assert [row[:2] for row in table[1:]] == [["default", "a"], ["default", "b"], ["team", "c"]]
    assert [row[:2] for row in cells(cli.ok("get cd -A -l env=dev"))[1:]] == [
        ["default", "a"],
        ["team", "c"],
    ]
    assert [row[0] for row in cells(cli.ok("get cd -l env!=dev"))[1:]] == ["b"]
    assert [row[0] for row in cells(cli.ok("get cd -n team"))[1:]] == ["c"]


def test_empty_list_says_so_on_stderr(cli: Cli) -> None:
    result = cli("get cd")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "No resources found in namespace default.\n"


def test_output_yaml_and_json(cli: Cli, client: OrbitClient) -> None:
    setup(client, cluster("a", workers=2), cluster("b"))
    one = yaml.safe_load(cli.ok("get cd a -o yaml"))
    assert one["kind"] == "ClusterDeployment"
    assert one["spec"]["config"] == {"workers": 2}
    listed = json.loads(cli.ok("get clusters -o json"))
    assert listed["kind"] == "ClusterDeploymentList"
    assert listed["apiVersion"] == v1alpha1.API_VERSION
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]
    assert int(listed["metadata"]["resourceVersion"]) > 0
    as_yaml = yaml.safe_load(cli.ok("get templates -o yaml"))
    assert as_yaml["kind"] == "ClusterTemplateList"


def test_one_object_by_name_and_not_found(cli: Cli, client: OrbitClient) -> None:
    setup(client, cluster())
    assert cells(cli.ok("get cluster dev"))[1][0] == "dev"
    result = cli("get cluster nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert "nope" in line


def test_events_table_is_sorted_by_time(cli: Cli, client: OrbitClient) -> None:
    for name, stamp, reason in [
        ("e1", "2024-01-01T10:05:00Z", "Later"),
        ("e2", "2024-01-01T10:00:00Z", "Sooner"),
    ]:
        client.create_raw(
            v1alpha1.Event,
            {
                "metadata": {"name": name},
                "involvedObject": {
                    "kind": "ClusterDeployment",
                    "name": "dev",
                    "namespace": "default",
                },
                "reason": reason,
                "message": f"{reason} happened",
                "lastTimestamp": stamp,
            },
        )
    table = cells(cli.ok("get events"))
    assert table[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [(r[2], r[3], r[4]) for r in table[1:]] == [
        ("Sooner", "clusterdeployment/dev", "Sooner happened"),
        ("Later", "clusterdeployment/dev", "Later happened"),
    ]


def test_watch_prints_the_table_then_a_row_per_change(
    cli: Cli, client: OrbitClient, server_url: str
) -> None:
    setup(client, cluster())
    done = threading.Event()

    def change() -> None:
        with OrbitClient(server_url) as writer:
            step = 0
            while not done.wait(0.3):
                step += 1
                set_status(
                    writer, "dev", phase="Provisioning", nodes={"ready": step % 4, "total": 3}
                )

    thread = threading.Thread(target=change)
    thread.start()
    try:
        out = cli.ok("get cd -w --timeout 3s")
    finally:
        done.set()
        thread.join()
    table = cells(out)
    assert table[0][0] == "NAME"
    assert len(table) >= 3  # the header, the first row, at least one change
    assert all(row[0] == "dev" for row in table[1:])
    assert any(row[2] == "Provisioning" for row in table[1:])


def test_all_namespaces_with_a_name_is_a_usage_error(cli: Cli) -> None:
    result = cli("get cd dev -A")
    assert result.exit_code == 2


def test_unknown_kind_is_a_usage_error(cli: Cli) -> None:
    result = cli("get widgets")
    assert result.exit_code == 2
    assert 'unknown kind "widgets"' in result.stderr
    assert "clusterdeployments" in result.stderr
