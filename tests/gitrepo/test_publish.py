"""commit_and_push against real git: exact commits, no-ops, and pushes that race others."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from orbit.gitrepo import PermanentGitError, TransientGitError, WorkingCopy

from .conftest import SEED, Origin, git, write_back

STATUS = ".orbit/status/team-a/ClusterDeployment/demo.yaml"


async def test_adds_changes_and_deletes_exactly_the_given_paths(
    origin: Origin, wc: WorkingCopy
) -> None:
    await wc.sync(origin.url, branch="main")
    before = origin.head()

    sha = await write_back(
        wc,
        {STATUS: b"phase: Ready\n", "README.md": b"# changed\n", "apps/web.yaml": None},
        message="Status of team-a/demo",
    )

    assert sha == origin.head() == await wc.head()
    assert git("rev-parse", f"{sha}^", cwd=origin.path).strip() == before
    assert sorted(origin.tree()) == sorted([STATUS, "README.md"])
    assert origin.show(STATUS) == b"phase: Ready\n"
    assert origin.show("README.md") == b"# changed\n"
    changed = git("diff-tree", "-r", "--name-status", "--no-commit-id", sha, cwd=origin.path)
    assert sorted(changed.splitlines()) == [f"A\t{STATUS}", "D\tapps/web.yaml", "M\tREADME.md"]
    fmt = "%an <%ae>|%cn <%ce>|%s"
    ident = git("log", "-1", f"--format={fmt}", sha, cwd=origin.path).strip()
    assert ident == "Orbit <orbit@example.com>|Orbit <orbit@example.com>|Status of team-a/demo"
    assert (wc.path / STATUS).read_bytes() == b"phase: Ready\n"  # the work tree follows
    assert not (wc.path / "apps/web.yaml").exists()


async def test_bytes_are_stored_as_given(origin: Origin, wc: WorkingCopy) -> None:
    origin.push_as_other({".gitattributes": b"*.yaml text eol=crlf filter=nope\n"})
    await wc.sync(origin.url, branch="main")
    data = b"a: 1\r\nb: 2\n\x00\xff"

    sha = await write_back(wc, {STATUS: data})

    assert blob(origin.path, f"{sha}:{STATUS}") == data


def blob(repo: Path, name: str) -> bytes:
    done = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "blob", name],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


async def test_nothing_to_change_makes_no_commit(origin: Origin, wc: WorkingCopy) -> None:
    await wc.sync(origin.url, branch="main")
    first = await write_back(wc, {STATUS: b"phase: Ready\n"})
    subjects = origin.subjects()

    assert await write_back(wc, {STATUS: b"phase: Ready\n"}) is None
    assert await write_back(wc, {"README.md": SEED["README.md"], "absent.yaml": None}) is None
    assert await write_back(wc, {}) is None
    assert origin.subjects() == subjects
    assert origin.head() == first


async def test_a_push_racing_another_lands_on_top_of_it(origin: Origin, wc: WorkingCopy) -> None:
    await wc.sync(origin.url, branch="main")
    # Someone pushes after our fetch: our first push is rejected, as a race would have it.
    theirs = origin.push_as_other(
        {"apps/db.yaml": b"user's file\n", "README.md": b"# theirs\n"}, message="user change"
    )

    ours = await write_back(wc, {STATUS: b"phase: Ready\n"}, message="status")

    assert ours is not None
    assert origin.head() == ours
    assert git("rev-parse", f"{ours}^", cwd=origin.path).strip() == theirs
    assert origin.subjects()[:2] == ["status", "user change"]
    assert origin.show("apps/db.yaml") == b"user's file\n"  # theirs survive untouched
    assert origin.show("README.md") == b"# theirs\n"
    assert origin.show(STATUS) == b"phase: Ready\n"
    assert await wc.head() == ours


async def test_giving_up_after_the_attempts_is_transient(origin: Origin, wc: WorkingCopy) -> None:
    await wc.sync(origin.url, branch="main")
    theirs = origin.push_as_other({"apps/db.yaml": b"x\n"})

    with pytest.raises(TransientGitError, match="rejected 1 times because others pushed"):
        await write_back(wc, {STATUS: b"s\n"}, attempts=1)
    assert origin.head() == theirs  # nothing forced over them


async def test_a_change_already_pushed_by_someone_else_is_a_no_op(
    origin: Origin, wc: WorkingCopy
) -> None:
    await wc.sync(origin.url, branch="main")
    theirs = origin.push_as_other({STATUS: b"same\n"})

    assert await write_back(wc, {STATUS: b"same\n"}) is None
    assert origin.head() == theirs == await wc.head()


async def test_working_copies_pushing_at_once_all_land(origin: Origin, tmp_path: Path) -> None:
    copies = [WorkingCopy(tmp_path / "gitops" / f"uid-{i}") for i in range(3)]
    for copy in copies:
        await copy.sync(origin.url, branch="main")

    pushed = await asyncio.gather(
        *(write_back(copy, {f".orbit/status/{i}.yaml": b"x\n"}) for i, copy in enumerate(copies))
    )

    assert all(pushed)
    assert {f".orbit/status/{i}.yaml" for i in range(3)} <= set(origin.tree())
    assert set(SEED) <= set(origin.tree())


async def test_a_change_that_would_replace_a_directory_is_refused(
    origin: Origin, wc: WorkingCopy
) -> None:
    await wc.sync(origin.url, branch="main")
    before = origin.head()

    with pytest.raises(PermanentGitError, match=r"would also change apps/web\.yaml"):
        await write_back(wc, {"apps": b"a file over a directory\n"})
    with pytest.raises(PermanentGitError, match=r"would also change README\.md"):
        await write_back(wc, {"README.md/x.yaml": b"a directory over a file\n"})
    assert origin.head() == before


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", ".git/config", "a//b", "a/", "", "a/./b"])
async def test_paths_outside_the_tree_are_refused(
    origin: Origin, wc: WorkingCopy, path: str
) -> None:
    await wc.sync(origin.url, branch="main")
    with pytest.raises(PermanentGitError, match="not a relative file path"):
        await write_back(wc, {path: b"x"})


async def test_writing_before_any_sync_says_so(wc: WorkingCopy) -> None:
    with pytest.raises(PermanentGitError, match="sync it before writing"):
        await write_back(wc, {STATUS: b"x"})


async def test_a_branch_the_clone_has_not_fetched_is_fetched(
    origin: Origin, wc: WorkingCopy
) -> None:
    git("push", "-q", "origin", "HEAD:status", cwd=origin.other)
    await wc.sync(origin.url, branch="main")

    sha = await write_back(wc, {STATUS: b"x\n"}, branch="status")

    assert sha == origin.head("status") != origin.head("main")
