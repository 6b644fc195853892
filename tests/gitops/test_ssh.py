"""GitOps over real SSH: the repository is served by an ``sshd`` on 127.0.0.21, Orbit reaches it
with a ``git`` Credential (its key encrypted at rest, the host key pinned), a commit becomes a
Ready cluster and its state comes back as a commit over SSH; a host key that does not match
is refused and named."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from tests.gitops.conftest import Fleet, Orbit, cluster_yaml, until
from tests.gitrepo.conftest import GitHost, git, git_host

pytestmark = pytest.mark.slow  # a whole Orbit Plane against real git


__all__ = ["git_host"]  # the fixture, imported for this module


def fleet_of(host: GitHost, tmp_path: Path) -> Fleet:
    """The team's clone of the served repository (they push to it directly)."""
    clone = tmp_path / "team"
    git("clone", "-q", "-b", "main", str(host.repo), str(clone))
    return Fleet(host.repo, clone)


def ssh_secrets(host: GitHost) -> dict[str, str | None]:
    return {"privateKey": host.client_key.export_private_key().decode()}


async def test_sync_and_write_back_over_ssh(
    git_host: GitHost, tmp_path: Path, orbit: Orbit
) -> None:
    fleet = fleet_of(git_host, tmp_path)
    fleet.commit({"clusters/edge.yaml": cluster_yaml("edge")}, "add edge")
    await orbit.put_credential(
        config={"knownHosts": git_host.host.known_hosts_line() + "\n"},
        secrets=ssh_secrets(git_host),
    )
    await orbit.repository(git_host.url, credentialRef="git-access")
    await orbit.ready("edge")

    async def written() -> bool:
        doc = fleet.status("ClusterDeployment", "edge")
        return bool(doc) and doc["status"]["phase"] == "Ready"

    await until(written, "the state pushed back over SSH", timeout=30)
    assert fleet.subjects()[0].startswith("orbit:")
    fleet.commit({"clusters/edge.yaml": None}, "remove edge")
    await orbit.synced(await orbit.request_sync())

    async def gone() -> bool:
        return "edge" not in await orbit.clusters()

    await until(gone, "edge deleted", timeout=30)


async def test_a_host_key_that_does_not_match_is_refused(
    git_host: GitHost, tmp_path: Path, orbit: Orbit
) -> None:
    fleet_of(git_host, tmp_path).commit({"clusters/x.yaml": cluster_yaml("x")})
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    await orbit.put_credential(
        config={"knownHosts": git_host.host.known_hosts_line(impostor) + "\n"},
        secrets=ssh_secrets(git_host),
    )
    await orbit.repository(git_host.url, credentialRef="git-access")
    ready = await until(orbit.condition, "the fetch's condition", timeout=30)
    assert ready.status == "False"
    assert ready.reason == "FetchFailed"
    assert f"{git_host.where}" in ready.message and "does not match" in ready.message
    assert "x" not in await orbit.clusters()
