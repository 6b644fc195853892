"""Git over real SSH: an ``sshd`` on 127.0.0.21 serving a bare repository to root.

The server is :mod:`tests.sshd`'s (a generated host key, our client key authorized, key login
only); git runs ``git-upload-pack``/``git-receive-pack`` there through root's shell, as any
git host over SSH does. Skipped without sshd or root, unless ORBIT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from orbit.gitrepo import PermanentGitError, WorkingCopy

from .conftest import SEED, GitHost, git, write_back


async def test_clone_and_push_over_ssh(git_host: GitHost, tmp_path: Path) -> None:
    wc = WorkingCopy(tmp_path / "gitops" / "uid-ssh", timeout=60)
    auth = git_host.auth()

    sha = await wc.sync(git_host.url, branch="main", auth=auth)
    assert sha == git("rev-parse", "main", cwd=git_host.repo).strip()
    assert await wc.read("README.md") == SEED["README.md"]

    pushed = await write_back(wc, {".orbit/status/demo.yaml": b"phase: Ready\n"}, auth=auth)
    assert pushed == git("rev-parse", "main", cwd=git_host.repo).strip()
    shown = git("show", "main:.orbit/status/demo.yaml", cwd=git_host.repo)
    assert shown == "phase: Ready\n"


async def test_a_wrong_pinned_host_key_is_refused(git_host: GitHost, tmp_path: Path) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    auth = git_host.auth(known_hosts=git_host.host.known_hosts_line(impostor))
    wc = WorkingCopy(tmp_path / "gitops" / "uid-ssh", timeout=60)

    with pytest.raises(PermanentGitError) as caught:
        await wc.sync(git_host.url, branch="main", auth=auth)

    message = str(caught.value)
    assert f"the host key of {git_host.where} does not match the pinned known_hosts" in message
    assert "PRIVATE KEY" not in message


async def test_an_unpinned_host_is_refused_unless_first_use_is_trusted(
    git_host: GitHost, tmp_path: Path
) -> None:
    wc = WorkingCopy(tmp_path / "gitops" / "uid-ssh", timeout=60)
    with pytest.raises(PermanentGitError, match=f"no host key is pinned for {git_host.where}"):
        await wc.sync(git_host.url, branch="main", auth=git_host.auth(known_hosts=""))

    tofu = git_host.auth(known_hosts="", accept_new=True)
    await wc.sync(git_host.url, branch="main", auth=tofu)
    learned = (wc.path / ".git" / "orbit-known-hosts").read_text()
    assert git_host.host.host_key.export_public_key().decode().split()[1] in learned
    await wc.sync(git_host.url, branch="main", auth=tofu)  # the learned key still fits

    git_host.restart_with_new_host_key()  # trusted once, a changed key is refused
    with pytest.raises(PermanentGitError, match="does not match the pinned known_hosts"):
        await wc.sync(git_host.url, branch="main", auth=tofu)


async def test_a_key_the_server_does_not_know_is_refused(git_host: GitHost, tmp_path: Path) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    wc = WorkingCopy(tmp_path / "gitops" / "uid-ssh", timeout=60)

    with pytest.raises(PermanentGitError) as caught:
        await wc.sync(git_host.url, branch="main", auth=git_host.auth(key=stranger))

    message = str(caught.value)
    assert f"{git_host.where} refused the SSH key (authentication failed)" in message
    assert stranger.export_private_key().decode().splitlines()[1] not in message
