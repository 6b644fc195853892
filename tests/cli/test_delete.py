"""orbit delete, with --wait following finalizers until GET answers 404."""

from __future__ import annotations

import threading

import pytest

from orbit.api import v1alpha1
from orbit.client import NotFoundError, OrbitClient

from .conftest import Cli
from .helpers import cluster, set_status, setup


def test_delete_without_finalizers(cli: Cli, client: OrbitClient) -> None:
    setup(client, cluster())
    assert cli.ok("delete cd dev") == "clusterdeployment/dev deleted\n"
    with pytest.raises(NotFoundError):
        client.get(v1alpha1.ClusterDeployment, "dev")


def test_delete_missing_object(cli: Cli) -> None:
    result = cli("delete cluster ghost")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1


def test_delete_wait_follows_the_teardown(cli: Cli, client: OrbitClient, server_url: str) -> None:
    setup(client, cluster())
    client.patch(v1alpha1.ClusterDeployment, "dev", {"metadata": {"finalizers": ["test/teardown"]}})
    started = threading.Event()

    def teardown() -> None:
        with OrbitClient(server_url) as writer:
            while writer.get(v1alpha1.ClusterDeployment, "dev").metadata.deletion_timestamp is None:
                started.wait(0.05)
            set_status(writer, "dev", phase="Deleting", nodes={"ready": 0, "total": 1})
            started.wait(1.5)  # long enough for a poll to show the Deleting phase
            writer.patch(v1alpha1.ClusterDeployment, "dev", {"metadata": {"finalizers": None}})

    thread = threading.Thread(target=teardown)
    thread.start()
    try:
        result = cli("delete cluster dev --wait --timeout 1m")
    finally:
        thread.join(timeout=30)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "cluster dev: Deleting, 0/1 nodes ready" in [
        line.replace("clusterdeployment", "cluster") for line in lines
    ]
    assert lines[-1] == "clusterdeployment/dev deleted"
    with pytest.raises(NotFoundError):
        client.get(v1alpha1.ClusterDeployment, "dev")


def test_delete_without_wait_says_it_is_deleting(cli: Cli, client: OrbitClient) -> None:
    setup(client, cluster())
    client.patch(v1alpha1.ClusterDeployment, "dev", {"metadata": {"finalizers": ["test/teardown"]}})
    out = cli.ok("delete cd dev")
    assert out == "clusterdeployment/dev deleting (finalizers: test/teardown)\n"


def test_delete_wait_times_out(cli: Cli, client: OrbitClient) -> None:
    setup(client, cluster())
    client.patch(v1alpha1.ClusterDeployment, "dev", {"metadata": {"finalizers": ["test/teardown"]}})
    result = cli("delete cd dev --wait --timeout 2s")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: timed out after 2s waiting for clusterdeployment dev to be deleted: "
        "phase Deleting, 0/0 nodes ready\n"
    )
