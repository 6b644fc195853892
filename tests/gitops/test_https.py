"""GitOps over real HTTPS with a token: the repository is served by ``git http-backend`` behind
a local TLS server that wants a token (:mod:`tests.githttp`); Orbit reaches it with a ``git``
Credential holding the token (sealed) and the server's CA, a commit becomes a Ready cluster
and its state comes back as a commit over HTTPS. A Credential that is missing, for another
provider or holding no token is a ``CredentialInvalid`` condition saying which, and nothing
is sent to the server until it is fixed."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.githttp import TOKEN, USERNAME, GitServer, git_server
from tests.gitops.conftest import NS, Fleet, Orbit, cluster_yaml, until
from tests.gitrepo.conftest import git, make_bare

pytestmark = pytest.mark.slow  # a whole Orbit Plane against real git

__all__ = ["git_server"]  # the fixture, imported for this module

BASIC = "Basic " + base64.b64encode(f"{USERNAME}:{TOKEN}".encode()).decode()


def served_fleet(server: GitServer, tmp_path: Path) -> Fleet:
    """A bare repository the server serves, and the team's clone of it (they push directly)."""
    bare = make_bare(server.root / "fleet.git", {"README.md": b"# fleet\n"})
    clone = tmp_path / "team"
    git("clone", "-q", "-b", "main", str(bare), str(clone))
    return Fleet(bare, clone)


async def test_sync_and_write_back_over_https_with_a_token(
    git_server: GitServer, tmp_path: Path, orbit: Orbit
) -> None:
    fleet = served_fleet(git_server, tmp_path)
    fleet.commit({"clusters/web.yaml": cluster_yaml("web")}, "add web")
    await orbit.put_credential(
        config={"username": USERNAME, "caCertificate": git_server.ca},
        secrets={"token": TOKEN},
    )
    await orbit.repository(git_server.url("fleet.git"), credentialRef="git-access")
    await orbit.ready("web")
    ready = await until(orbit.condition, "the sync's condition")
    assert (ready.status, ready.reason) == ("True", "Synced"), ready.message

    async def written() -> bool:
        doc = fleet.status("ClusterDeployment", "web")
        return bool(doc) and doc["status"]["phase"] == "Ready"

    await until(written, "the state pushed back over HTTPS", timeout=30)
    assert fleet.subjects()[0].startswith("orbit:")
    pushed = await until(lambda: orbit.condition("WrittenBack"), "the write-back's condition")
    assert (pushed.status, pushed.reason) == ("True", "Pushed"), pushed.message
    # Every request carried the token, from the first on; it is in no file of the working copy.
    assert set(git_server.authorizations) == {BASIC}
    repo = await orbit.get_repository()
    copy = orbit.data_dir / "gitops" / "repositories" / (repo.metadata.uid or "")
    assert TOKEN not in (copy / ".git" / "config").read_text()
    assert fleet.show("clusters/web.yaml") == cluster_yaml("web")


async def test_an_unusable_token_credential_is_a_condition_until_fixed(
    git_server: GitServer, tmp_path: Path, orbit: Orbit
) -> None:
    fleet = served_fleet(git_server, tmp_path)
    fleet.commit({"clusters/web.yaml": cluster_yaml("web")}, "add web")
    config = {"username": USERNAME, "caCertificate": git_server.ca}

    # No such Credential.
    await orbit.repository(git_server.url("fleet.git"), credentialRef="git-access")
    ready = await until(orbit.condition, "the first sync's condition")
    assert (ready.status, ready.reason) == ("False", "CredentialInvalid")
    assert (
        'Credential "git-access" (spec.credentialRef) does not exist in namespace '
        f'"{NS}"' in ready.message
    )

    # A Credential for another provider (a sync request is handled, and reported, as it fails).
    await orbit.put_credential(provider="sim", config=config, secrets={"token": TOKEN})
    ready = await orbit.synced(await orbit.request_sync())
    assert (ready.status, ready.reason) == ("False", "CredentialInvalid")
    assert 'Credential "git-access" is for provider "sim", not "git"' in ready.message

    # The right provider, but a secret value git cannot use.
    await orbit.put_credential(config=config, secrets={"apiKey": TOKEN, "token": None})
    ready = await orbit.synced(await orbit.request_sync())
    assert (ready.status, ready.reason) == ("False", "CredentialInvalid")
    assert 'holds neither a "privateKey" (SSH) nor a "token" or "password"' in ready.message
    assert TOKEN not in ready.message
    assert git_server.authorizations == []  # nothing was sent to the server meanwhile
    assert await orbit.clusters() == {}

    # Fixed: the next sync goes through.
    await orbit.put_credential(config=config, secrets={"token": TOKEN, "apiKey": None})
    ready = await orbit.synced(await orbit.request_sync())
    assert (ready.status, ready.reason) == ("True", "Synced"), ready.message
    await orbit.ready("web")
