"""orbit apply -f against a real server."""

from __future__ import annotations

import json
from pathlib import Path

from orbit.api import v1alpha1
from orbit.client import OrbitClient

from .conftest import Cli
from .helpers import cluster, credential, namespace, template, write_yaml


def test_create_then_unchanged_then_configured(
    cli: Cli, client: OrbitClient, tmp_path: Path
) -> None:
    path = write_yaml(tmp_path / "world.yaml", template(), credential(), cluster(workers=2))
    assert cli.ok(["apply", "-f", str(path)]).splitlines() == [
        "credential/sim-creds created",
        "clustertemplate/sim-small created",
        "clusterdeployment/dev created",
    ]
    assert cli.ok(["apply", "-f", str(path)]).splitlines() == [
        "credential/sim-creds unchanged",
        "clustertemplate/sim-small unchanged",
        "clusterdeployment/dev unchanged",
    ]
    write_yaml(path, template(), credential(), cluster(workers=3, labels={"env": "dev"}))
    assert cli.ok(["apply", "-f", str(path)]).splitlines() == [
        "credential/sim-creds unchanged",
        "clustertemplate/sim-small unchanged",
        "clusterdeployment/dev configured",
    ]
    live = client.get(v1alpha1.ClusterDeployment, "dev")
    assert live.spec.config == {"workers": 3}
    assert live.metadata.labels == {"env": "dev"}
    assert live.metadata.generation == 2


def test_stdin_and_namespace_option(cli: Cli, client: OrbitClient) -> None:
    client.apply(namespace("team"))
    text = json.dumps(credential("c1"))
    assert cli.ok(["apply", "-f", "-", "-n", "team"], input=text) == "credential/c1 created\n"
    assert client.get(v1alpha1.Credential, "c1", namespace="team").spec.provider == "sim"


def test_directory_applies_dependencies_first(
    cli: Cli, client: OrbitClient, tmp_path: Path
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    # File names sort the cluster first: only the kind ordering makes this apply cleanly.
    write_yaml(folder / "a-cluster.yaml", cluster(namespace="team", workers=1))
    write_yaml(
        folder / "b-template.yml",
        template() | {"metadata": {"name": "sim-small", "namespace": "team"}},
    )
    (folder / "c-credential.json").write_text(
        json.dumps(credential() | {"metadata": {"name": "sim-creds", "namespace": "team"}})
    )
    write_yaml(folder / "d-namespace.yaml", namespace("team"))
    (folder / "notes.txt").write_text("not a manifest")
    assert cli.ok(["apply", "-f", str(folder)]).splitlines() == [
        "namespace/team created",
        "credential/sim-creds created",
        "clustertemplate/sim-small created",
        "clusterdeployment/dev created",
    ]
    assert client.get(v1alpha1.ClusterDeployment, "dev", namespace="team").spec.config == {
        "workers": 1
    }


def test_malformed_yaml_names_file_line_and_column_and_applies_nothing_from_it(
    cli: Cli, client: OrbitClient, tmp_path: Path
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    bad = folder / "bad.yaml"
    bad.write_text(
        "apiVersion: orbit.k8or.io/v1alpha1\n"
        "kind: Credential\n"
        "metadata: {name: first}\n"
        "spec: {provider: sim}\n"
        "---\n"
        "kind: Credential\n"
        "metadata:\n"
        "  name: second\n"
        "   bad: indent\n"
    )
    write_yaml(folder / "good.yaml", credential("good"))
    result = cli(["apply", "-f", str(folder)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {bad}:9:7: invalid YAML: mapping values are not allowed here"
    ]
    assert result.stdout == "credential/good created\n"
    names = [c.metadata.name for c in client.iter_all(v1alpha1.Credential)]
    assert names == ["good"]


def test_unknown_kind_is_named_with_the_known_kinds(
    cli: Cli, client: OrbitClient, tmp_path: Path
) -> None:
    path = write_yaml(
        tmp_path / "w.yaml",
        credential("ok"),
        {"apiVersion": "x/v1", "kind": "Widget", "metadata": {"name": "w"}},
    )
    result = cli(["apply", "-f", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f'error: {path} (document 2): unknown kind "Widget" (known kinds: ')
    assert "ClusterDeployment" in line
    assert list(client.iter_all(v1alpha1.Credential)) == []


def test_server_refusal_prints_causes_and_other_objects_still_apply(
    cli: Cli, client: OrbitClient, tmp_path: Path
) -> None:
    path = write_yaml(
        tmp_path / "w.yaml", template(), credential(), cluster("big", workers=30), cluster("ok")
    )
    result = cli(["apply", "-f", str(path)])
    assert result.exit_code == 1
    assert "clusterdeployment/ok created" in result.stdout
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f'error: {path}: ClusterDeployment "big" is invalid')
    assert lines[1] == "  spec.config.workers: 30 is greater than the maximum of 10"
    assert "Traceback" not in result.output


def test_missing_file(cli: Cli, tmp_path: Path) -> None:
    result = cli(["apply", "-f", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'nope.yaml'}: no such file or directory\n"
