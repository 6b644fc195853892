"""The working copy against real git and file:// bare repositories: sync, reads, recovery."""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
import sys
from pathlib import Path

import pytest

from orbit.gitrepo import (
    PermanentGitError,
    SshAuth,
    TransientGitError,
    WorkingCopy,
)

from .conftest import SEED, Origin, make_bare, write_back


async def test_sync_clones_the_branch_and_returns_its_commit(
    origin: Origin, wc: WorkingCopy
) -> None:
    sha = await wc.sync(origin.url, branch="main")

    assert sha == origin.head() == await wc.head()
    assert await wc.files() == sorted(SEED)
    assert await wc.files("apps") == ["apps/web.yaml"]
    assert await wc.files("apps/") == ["apps/web.yaml"]
    assert await wc.files("nothing") == []
    assert await wc.read("README.md") == SEED["README.md"]
    assert (wc.path / "apps/web.yaml").read_bytes() == SEED["apps/web.yaml"]


async def test_sync_fetches_a_new_commit(origin: Origin, wc: WorkingCopy) -> None:
    first = await wc.sync(origin.url, branch="main")
    second = origin.push_as_other({"apps/db.yaml": b"db\n"})

    assert await wc.sync(origin.url, branch="main") == second != first
    assert await wc.read("apps/db.yaml") == b"db\n"
    assert await wc.sync(origin.url, branch="main") == second  # idempotent


async def test_sync_resets_local_changes_and_removes_stray_files(
    origin: Origin, wc: WorkingCopy
) -> None:
    await wc.sync(origin.url, branch="main")
    (wc.path / "README.md").write_text("edited locally\n")
    (wc.path / "stray.yaml").write_text("not in git\n")
    (wc.path / "apps/stray").mkdir()
    (wc.path / "apps/stray/x.yaml").write_text("nested\n")
    (wc.path / ".gitignore").write_text("ignored.txt\n")
    (wc.path / "ignored.txt").write_text("ignored\n")

    await wc.sync(origin.url, branch="main")

    assert (wc.path / "README.md").read_bytes() == SEED["README.md"]
    for gone in ("stray.yaml", "apps/stray", ".gitignore", "ignored.txt"):
        assert not (wc.path / gone).exists(), gone


async def test_a_clone_killed_midway_is_redone(
    origin: Origin, wc: WorkingCopy, tmp_path: Path
) -> None:
    # A git that hangs after the fetch: the clone is killed half-made, as by a crash.
    hanging = tmp_path / "hanging-git"
    hanging.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        "if sys.argv[1] == 'checkout':\n"
        "    time.sleep(600)\n"
        "os.execvp('git', ['git', *sys.argv[1:]])\n"
    )
    hanging.chmod(0o755)
    killed = WorkingCopy(wc.path, git=str(hanging), timeout=2)
    with pytest.raises(TransientGitError, match="did not finish within"):
        await killed.sync(origin.url, branch="main")
    staging = wc.path.parent / f".{wc.path.name}.clone"
    assert (staging / ".git").is_dir()
    assert not wc.path.exists()  # the half-made clone never took the real name

    assert await wc.sync(origin.url, branch="main") == origin.head()
    assert not staging.exists()
    assert await wc.read("README.md") == SEED["README.md"]


@pytest.mark.parametrize("damage", ["garbage", "no-head", "no-objects", "stale-locks"])
async def test_a_damaged_clone_is_repaired(origin: Origin, wc: WorkingCopy, damage: str) -> None:
    await wc.sync(origin.url, branch="main")
    dotgit = wc.path / ".git"
    if damage == "garbage":
        for child in dotgit.iterdir():
            if child.is_file():
                child.write_text("garbage")
    elif damage == "no-head":
        (dotgit / "HEAD").unlink()
    elif damage == "no-objects":
        for obj in (dotgit / "objects").rglob("*"):
            if obj.is_file():
                obj.unlink()
    else:  # a killed git leaves its lock files, and a killed command its private directory
        (dotgit / "index.lock").write_text("")
        (dotgit / "refs/remotes/origin/main.lock").write_text("")
        private = wc.path.parent / f".{wc.path.name}.tmp" / "git-x"
        private.mkdir(parents=True)
        (private / "identity").write_text("a key left behind")
    new = origin.push_as_other({"apps/db.yaml": b"db\n"})

    assert await wc.sync(origin.url, branch="main") == new
    assert await wc.read("apps/db.yaml") == b"db\n"
    assert not list((wc.path.parent / f".{wc.path.name}.tmp").iterdir())


async def test_a_clone_of_another_url_is_replaced(
    origin: Origin, wc: WorkingCopy, tmp_path: Path
) -> None:
    await wc.sync(origin.url, branch="main")
    other = make_bare(tmp_path / "elsewhere.git", {"only-here.txt": b"x\n"})

    await wc.sync(f"file://{other}", branch="main")

    assert await wc.files() == ["only-here.txt"]


async def test_a_missing_branch_is_a_permanent_error(origin: Origin, wc: WorkingCopy) -> None:
    with pytest.raises(PermanentGitError, match=r"branch 'nope' does not exist in file://"):
        await wc.sync(origin.url, branch="nope")
    assert not wc.path.exists()
    await wc.sync(origin.url, branch="main")  # what that attempt left does not get in the way
    with pytest.raises(PermanentGitError, match="branch 'nope' does not exist"):
        await wc.sync(origin.url, branch="nope")
    assert await wc.head() == origin.head()  # the work tree stays as it was


async def test_a_missing_repository_is_a_permanent_error(wc: WorkingCopy, tmp_path: Path) -> None:
    with pytest.raises(PermanentGitError, match=r"no repository at file://.*check the URL"):
        await wc.sync(f"file://{tmp_path}/absent.git", branch="main")


@pytest.mark.parametrize("branch", ["a..b", "with space", "-x", "end.lock", ""])
async def test_an_invalid_branch_name_is_refused(
    origin: Origin, wc: WorkingCopy, branch: str
) -> None:
    with pytest.raises(PermanentGitError, match="not a valid branch name"):
        await wc.sync(origin.url, branch=branch)


async def test_reads_come_from_git_not_the_file_system(
    origin: Origin, wc: WorkingCopy, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("orbit's own secret\n")
    os.symlink(secret, origin.other / "apps" / "link.yaml")
    origin.push_as_other({"apps/run.sh": b"#!/bin/sh\n"})
    await wc.sync(origin.url, branch="main")

    assert await wc.files("apps") == ["apps/run.sh", "apps/web.yaml"]
    with pytest.raises(FileNotFoundError):
        await wc.read("apps/link.yaml")
    with pytest.raises(FileNotFoundError):
        await wc.read("apps")  # a directory
    with pytest.raises(FileNotFoundError):
        await wc.read("absent.yaml")
    with pytest.raises(PermanentGitError, match="not a relative file path"):
        await wc.read("../secret.txt")


async def test_reading_before_any_sync_says_so(wc: WorkingCopy) -> None:
    with pytest.raises(PermanentGitError, match="holds no clone"):
        await wc.head()


async def test_one_user_at_a_time_across_processes(origin: Origin, tmp_path: Path) -> None:
    path = tmp_path / "gitops" / "shared"
    await WorkingCopy(path).sync(origin.url, branch="main")
    lock = path.parent / f".{path.name}.lock"
    fd = os.open(lock, os.O_RDWR)  # another process's hold, as far as flock is concerned
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(TransientGitError, match=r"stayed busy for 0\.3s"):
            await WorkingCopy(path, lock_timeout=0.3).head()
        waiting = asyncio.create_task(WorkingCopy(path, lock_timeout=30).head())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert await asyncio.wait_for(waiting, 30) == origin.head()
    finally:
        os.close(fd)
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


async def test_tasks_take_turns_on_one_working_copy(origin: Origin, wc: WorkingCopy) -> None:
    await wc.sync(origin.url, branch="main")
    results = await asyncio.gather(
        *(write_back(wc, {f".orbit/status/{i}.yaml": f"{i}\n".encode()}) for i in range(4)),
        wc.sync(origin.url, branch="main"),
        WorkingCopy(wc.path).sync(origin.url, branch="main"),  # another object, same directory
    )
    assert all(results)
    assert sorted(p for p in origin.tree() if p.startswith(".orbit")) == [
        f".orbit/status/{i}.yaml" for i in range(4)
    ]


async def test_an_ssh_url_needs_ssh_auth(wc: WorkingCopy) -> None:
    with pytest.raises(PermanentGitError, match="takes SSH auth, not no auth"):
        await wc.sync("ssh://git@example.com/repo.git", branch="main")
    with pytest.raises(PermanentGitError, match="takes no auth, not SSH auth"):
        await wc.sync(
            "file:///srv/repo.git", branch="main", auth=SshAuth(private_key="k", known_hosts="")
        )
