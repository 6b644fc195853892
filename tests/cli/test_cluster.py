"""orbit create/scale/upgrade cluster, with and without --wait."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from orbit.api import v1alpha1
from orbit.client import NotFoundError, OrbitClient

from .conftest import Cli
from .helpers import cluster, credential, set_status, setup, template


@contextmanager
def controller(server_url: str, act: Callable[[OrbitClient], None]) -> Iterator[None]:
    """Run ``act`` in a thread as a controller would, once the cluster exists."""

    def run() -> None:
        with OrbitClient(server_url) as writer:
            while not stop.is_set():
                try:
                    writer.get(v1alpha1.ClusterDeployment, "dev")
                except NotFoundError:
                    stop.wait(0.05)
                    continue
                act(writer)
                return

    stop = threading.Event()
    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def test_create_with_values_ttl_labels_and_default_credential(
    cli: Cli, client: OrbitClient
) -> None:
    setup(client)
    client.apply(credential("ssh-creds", provider="ssh"))
    out = cli.ok(
        "create cluster dev --template sim-small --set workers=3 --set extra.debug=true "
        "--set extra.name=abc --set extra.ratio=0.5 --set extra.version=1.30 --ttl 2h "
        "--label env=dev --label team=a"
    )
    assert out == "clusterdeployment/dev created\n"
    obj = client.get(v1alpha1.ClusterDeployment, "dev")
    assert obj.spec.credential == "sim-creds"  # the only one for provider sim
    assert obj.spec.config == {
        "workers": 3,
        "extra": {"debug": True, "name": "abc", "ratio": 0.5, "version": 1.3},
    }
    assert obj.spec.ttl == "2h"
    assert obj.metadata.labels == {"env": "dev", "team": "a"}


def test_credential_defaulting_refuses_to_guess(cli: Cli, client: OrbitClient) -> None:
    client.apply(template())
    result = cli("create cluster dev --template sim-small")
    assert result.exit_code == 1
    assert result.stderr == (
        'error: no Credential for provider "sim" in namespace default: '
        "create one, or pass --credential\n"
    )
    client.apply(credential("one"))
    client.apply(credential("two"))
    result = cli("create cluster dev --template sim-small")
    assert result.exit_code == 1
    assert result.stderr == (
        'error: several Credentials for provider "sim" in namespace default (one, two): '
        "choose one with --credential\n"
    )
    assert cli.ok("create cluster dev --template sim-small --credential two")
    assert client.get(v1alpha1.ClusterDeployment, "dev").spec.credential == "two"


def test_create_with_an_unknown_template(cli: Cli, client: OrbitClient) -> None:
    setup(client)
    result = cli("create cluster dev --template nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "nope" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        "--ttl forever",
        "--timeout soon --wait",
        "--set workers",
        "--set =3",
        "--set a=1 --set a.b=2",
        "--label nolabel",
    ],
)
def test_bad_options_are_usage_errors(cli: Cli, client: OrbitClient, args: str) -> None:
    setup(client)
    result = cli(f"create cluster dev --template sim-small {args}")
    assert result.exit_code == 2, result.output
    with pytest.raises(NotFoundError):
        client.get(v1alpha1.ClusterDeployment, "dev")


def test_create_wait_until_ready(cli: Cli, client: OrbitClient, server_url: str) -> None:
    setup(client)

    def provision(writer: OrbitClient) -> None:
        set_status(
            writer,
            "dev",
            phase="Provisioning",
            nodes={"ready": 1, "total": 3},
            message="creating workers",
        )
        set_status(
            writer,
            "dev",
            phase="Ready",
            nodes={"ready": 3, "total": 3, "versions": {"v1.30.2": 3}},
            message=None,  # merge patch: null removes it
        )

    with controller(server_url, provision):
        result = cli("create cluster dev --template sim-small --set workers=2 --wait --timeout 2m")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "clusterdeployment/dev created"
    assert lines[-1] == "clusterdeployment/dev is Ready"
    assert "cluster dev: Ready, 3/3 nodes ready, v1.30.2 x3" in lines


def test_create_wait_reports_failure(cli: Cli, client: OrbitClient, server_url: str) -> None:
    setup(client)

    def fail(writer: OrbitClient) -> None:
        set_status(
            writer,
            "dev",
            phase="Failed",
            message="provider failed",
            conditions=[
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "ProviderFailed",
                    "message": "quota exceeded in region x",
                }
            ],
        )

    with controller(server_url, fail):
        result = cli("create cluster dev --template sim-small --wait")
    assert result.exit_code == 1
    assert result.stderr == "error: cluster dev failed: quota exceeded in region x\n"


def test_create_wait_times_out(cli: Cli, client: OrbitClient) -> None:
    setup(client)
    result = cli("create cluster dev --template sim-small --wait --timeout 2s")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: timed out after 2s waiting for cluster dev: phase Pending, 0/0 nodes ready\n"
    )


def test_scale_sends_a_merge_patch_of_workers(cli: Cli, client: OrbitClient) -> None:
    setup(client, cluster(workers=1, size="large"))
    assert cli.ok("scale cluster dev --workers 4") == "clusterdeployment/dev scaled to 4 workers\n"
    obj = client.get(v1alpha1.ClusterDeployment, "dev")
    assert obj.spec.config == {"workers": 4, "size": "large"}  # merged, not replaced
    assert obj.metadata.generation == 2


def test_scale_refused_prints_the_cause(cli: Cli, client: OrbitClient) -> None:
    setup(client, cluster(workers=1))
    result = cli("scale cluster dev --workers 30")
    assert result.exit_code == 1
    assert result.stdout == ""
    first, cause = result.stderr.splitlines()
    assert first.startswith('error: ClusterDeployment "dev" is invalid')
    assert cause == "  spec.config.workers: 30 is greater than the maximum of 10"


def test_scale_wait_waits_for_the_new_generation(
    cli: Cli, client: OrbitClient, server_url: str
) -> None:
    setup(client, cluster(workers=1))
    set_status(client, "dev", phase="Ready", nodes={"ready": 2, "total": 2})  # generation 1 settled

    def scale(writer: OrbitClient) -> None:
        while writer.get(v1alpha1.ClusterDeployment, "dev").metadata.generation != 2:
            threading.Event().wait(0.05)
        set_status(writer, "dev", phase="Updating", nodes={"ready": 2, "total": 3})
        set_status(writer, "dev", phase="Ready", nodes={"ready": 3, "total": 3})

    with controller(server_url, scale):
        result = cli("scale cluster dev --workers 2 --wait --timeout 1m")
    assert result.exit_code == 0, result.output
    assert "cluster dev: Ready, 3/3 nodes ready" in result.stdout


def test_upgrade_sends_a_merge_patch_of_the_template(cli: Cli, client: OrbitClient) -> None:
    setup(
        client,
        template("sim-next"),
        template("sim-old", upgradeTo=["sim-next"]),
        cluster(template="sim-old"),
    )
    assert (
        cli.ok("upgrade cluster dev --template sim-next")
        == "clusterdeployment/dev upgrading to sim-next\n"
    )
    obj = client.get(v1alpha1.ClusterDeployment, "dev")
    assert obj.spec.template == "sim-next"
    assert obj.spec.credential == "sim-creds"


def test_upgrade_off_the_path_is_refused_with_the_allowed_ones(
    cli: Cli, client: OrbitClient
) -> None:
    setup(
        client,
        template("sim-next"),
        template("sim-old", upgradeTo=["sim-next"]),
        cluster(template="sim-old"),
    )
    result = cli("upgrade cluster dev --template sim-small")
    assert result.exit_code == 1
    cause = result.stderr.splitlines()[1]
    assert cause.startswith("  spec.template: ")
    assert "sim-next" in cause


def test_cluster_aliases(cli: Cli, client: OrbitClient) -> None:
    setup(client)
    assert cli.ok("create cd dev -t sim-small") == "clusterdeployment/dev created\n"
    assert cli.ok("scale clusterdeployment dev --workers 2")
