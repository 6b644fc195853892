"""Fixtures for orbit.gitrepo: bare repositories on disk, and another user who pushes to them.

``origin`` is a bare repository (``git init --bare``, branch ``main``) seeded with two files,
reached as a ``file://`` URL. Its :class:`Origin` also keeps a separate clone standing for
another person or process, to push commits between the working copy's fetch and its push.
The helpers here run git synchronously with an isolated configuration, as plain users would.
``git_host`` serves a bare repository over a real ``sshd`` on 127.0.0.21 (import it where
another package's tests need git over SSH).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from orbit.gitrepo import NO_AUTH, Auth, SshAuth, WorkingCopy
from tests.sshd import SshdHost, free_port, require_sshd, start_sshd, stop_sshd, wait_listening

_ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": "/nonexistent",
    "LC_ALL": "C",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Other Person",
    "GIT_AUTHOR_EMAIL": "other@example.com",
    "GIT_COMMITTER_NAME": "Other Person",
    "GIT_COMMITTER_EMAIL": "other@example.com",
}
SEED = {"README.md": b"# fleet\n", "apps/web.yaml": b"kind: ClusterDeployment\n"}


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git as a plain user would; its stdout."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=_ENV, capture_output=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout.decode()


def make_bare(path: Path, files: dict[str, bytes], *, branch: str = "main") -> Path:
    """A bare repository at ``path`` whose ``branch`` holds ``files`` in one commit."""
    git("init", "-q", "--bare", "-b", branch, str(path))
    work = path.parent / f"{path.name}.seed"
    git("clone", "-q", str(path), str(work))
    for name, data in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "seed", cwd=work)
    git("push", "-q", "origin", f"HEAD:{branch}", cwd=work)
    return path


@dataclass
class Origin:
    """The bare repository, and a clone of it used by 'someone else'."""

    path: Path
    other: Path

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def head(self, branch: str = "main") -> str:
        return git("rev-parse", branch, cwd=self.path).strip()

    def show(self, path: str, branch: str = "main") -> bytes:
        return git("show", f"{branch}:{path}", cwd=self.path).encode()

    def tree(self, branch: str = "main") -> list[str]:
        return git("ls-tree", "-r", "--name-only", branch, cwd=self.path).split()

    def subjects(self, branch: str = "main") -> list[str]:
        return git("log", "--format=%s", branch, cwd=self.path).splitlines()

    def push_as_other(self, files: dict[str, bytes], message: str = "other") -> str:
        """Someone else commits ``files`` on main and pushes; their commit."""
        git("pull", "-q", "--ff-only", "origin", "main", cwd=self.other)
        for name, data in files.items():
            (self.other / name).parent.mkdir(parents=True, exist_ok=True)
            (self.other / name).write_bytes(data)
        git("add", "-A", cwd=self.other)
        git("commit", "-q", "-m", message, cwd=self.other)
        git("push", "-q", "origin", "HEAD:main", cwd=self.other)
        return git("rev-parse", "HEAD", cwd=self.other).strip()


async def write_back(
    wc: WorkingCopy,
    changes: dict[str, bytes | None],
    *,
    auth: Auth = NO_AUTH,
    message: str = "Orbit status",
    branch: str = "main",
    attempts: int = 5,
) -> str | None:
    """``wc.commit_and_push`` as Orbit would call it."""
    return await wc.commit_and_push(
        changes,
        message=message,
        author_name="Orbit",
        author_email="orbit@example.com",
        branch=branch,
        auth=auth,
        attempts=attempts,
    )


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    path = make_bare(tmp_path / "origin.git", SEED)
    other = tmp_path / "other"
    git("clone", "-q", "-b", "main", str(path), str(other))
    return Origin(path=path, other=other)


@pytest.fixture
def wc(tmp_path: Path) -> WorkingCopy:
    return WorkingCopy(tmp_path / "data" / "gitops" / "uid-1", timeout=60)


ADDRESS = "127.0.0.21"


@dataclass
class GitHost:
    host: SshdHost
    client_key: asyncssh.SSHKey
    authorized: Path
    repo: Path

    @property
    def url(self) -> str:
        return f"ssh://root@{ADDRESS}:{self.host.port}{self.repo}"

    @property
    def where(self) -> str:
        return f"{ADDRESS}:{self.host.port}"

    def auth(
        self,
        *,
        key: asyncssh.SSHKey | None = None,
        known_hosts: str | None = None,
        accept_new: bool = False,
    ) -> SshAuth:
        return SshAuth(
            private_key=(key or self.client_key).export_private_key().decode(),
            known_hosts=self.host.known_hosts_line() if known_hosts is None else known_hosts,
            accept_new_host_keys=accept_new,
        )

    def restart_with_new_host_key(self) -> None:
        stop_sshd(self.host)
        self.host.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host.proc = start_sshd(self.host, self.authorized)
        wait_listening(self.host)


@pytest.fixture
def git_host(tmp_path: Path) -> Iterator[GitHost]:
    require_sshd()
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(client_key.export_public_key())
    host = SshdHost(
        address=ADDRESS,
        port=free_port(ADDRESS),
        root=tmp_path / "sshd-host",
        host_key=asyncssh.generate_private_key("ssh-ed25519"),
    )
    host.proc = start_sshd(host, authorized)
    try:
        wait_listening(host)
        repo = make_bare(tmp_path / "served" / "fleet.git", SEED)
        yield GitHost(host=host, client_key=client_key, authorized=authorized, repo=repo)
    finally:
        stop_sshd(host)
