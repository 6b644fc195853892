"""``orbit gitops sync`` sets the requested-at annotation through the API (what the hook does),
and ``orbit get gitrepositories`` shows their state."""

from __future__ import annotations

from orbit.api import v1alpha1
from orbit.client import OrbitClient
from tests.cli.conftest import Cli


def test_sync_requests_a_sync_and_get_lists_it(cli: Cli, client: OrbitClient) -> None:
    client.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="orbit-system")))
    client.create(
        v1alpha1.GitRepository.model_validate(
            {
                "metadata": {"name": "fleet", "namespace": "orbit-system"},
                "spec": {"url": "file:///srv/fleet.git"},
            }
        ),
        namespace="orbit-system",
    )
    out = cli.ok("gitops sync fleet")
    assert "Sync of gitrepository orbit-system/fleet requested" in out
    repo = client.get(v1alpha1.GitRepository, "fleet", namespace="orbit-system")
    assert v1alpha1.ANNOTATION_REQUESTED in repo.metadata.annotations
    listed = cli.ok("get gitrepositories -n orbit-system")
    assert "file:///srv/fleet.git" in listed
    assert "Pending" in listed
    missing = cli("gitops sync nope")
    assert missing.exit_code != 0
    assert "not found" in missing.stderr
