"""Turning a set of file changes into one commit on top of a given commit, and pushing it.

The commit is built with plumbing in a private index (``read-tree`` of the base,
``update-index`` of exactly the changed paths, ``write-tree``, ``commit-tree``), never in the
work tree: no hook, no ``.gitattributes`` filter and no stray local file can touch it, and
rebuilding it on another base (after a rejected push) is the same call with another commit.
The blobs are stored byte for byte (``--no-filters``). Before committing, the new tree is
compared with the base: a commit changes the paths it was given and nothing else, so a change
that would turn one of the user's directories into a file (or the reverse) is refused, not
made. Pushing is never forced: a rejection because the branch moved is reported to the caller,
who fetches and builds again.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orbit.gitrepo import lock, runner
from orbit.gitrepo.errors import CorruptWorkingCopy, PermanentGitError

_NO_SHA = "0" * 40
#: The branch moved under our push: before it (rejected), or while the remote updated it
#: (another push took the ref's lock, or won the compare-and-swap on it).
_MOVED = re.compile(r"\[rejected\] \((?:fetch first|non-fast-forward)\)|\(failed to update ref\)")
_INDEX = "orbit-commit-index"


@dataclass(frozen=True)
class Identity:
    """Author and committer of Orbit's commits (passed in the environment, not config)."""

    name: str
    email: str

    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


def check_path(path: str) -> str:
    """``path`` if it is a plain repository-relative file path; raise otherwise."""
    parts = path.split("/")
    bad = (
        not path
        or path.startswith("/")
        or path.endswith("/")
        or "//" in path
        or "\0" in path
        or any(p in (".", "..") or p.lower() == ".git" for p in parts)
    )
    if bad:
        raise PermanentGitError(
            f"{path!r} is not a relative file path inside the repository (no '..', '.git', "
            "leading or doubled '/')"
        )
    return path


async def hash_blobs(
    git: runner.Git, repo: Path, changes: Mapping[str, bytes | None], *, scratch: Path
) -> dict[str, str | None]:
    """Store each new content as a blob; the path's blob id, or None for a deletion."""
    written = [(path, data) for path, data in changes.items() if data is not None]
    blobs: dict[str, str | None] = {path: None for path, data in changes.items() if data is None}
    if not written:
        return blobs
    # hash-object reads many blobs in one process only from files, so spill them privately.
    spill = await lock.in_thread(_spill, scratch, [data for _, data in written])
    try:
        done = await git.run(
            "hash-object",
            "-w",
            "--no-filters",
            "--stdin-paths",
            repo=repo,
            stdin="".join(f"{spill / str(i)}\n" for i in range(len(written))).encode(),
        )
    finally:
        await lock.in_thread(shutil.rmtree, spill, True)
    shas = done.stdout.decode().split()
    blobs.update((path, sha) for (path, _), sha in zip(written, shas, strict=True))
    return blobs


def _spill(scratch: Path, contents: list[bytes]) -> Path:
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="blobs-", dir=scratch))
    for i, data in enumerate(contents):
        (directory / str(i)).write_bytes(data)
    return directory


async def build_commit(
    git: runner.Git,
    repo: Path,
    base: str,
    blobs: Mapping[str, str | None],
    *,
    message: str,
    identity: Identity,
) -> str | None:
    """A commit of ``base`` with ``blobs`` applied, or None when that changes nothing."""
    index = repo / ".git" / _INDEX
    index.unlink(missing_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        await git.run("read-tree", base, repo=repo, env=env)
        entries = "".join(
            f"0 {_NO_SHA}\t{path}\0" if sha is None else f"100644 {sha}\t{path}\0"
            for path, sha in blobs.items()
        )
        await git.run(
            "update-index", "-z", "--index-info", repo=repo, env=env, stdin=entries.encode()
        )
        tree = (await git.run("write-tree", repo=repo, env=env)).stdout.decode().strip()
    finally:
        index.unlink(missing_ok=True)
    base_tree = await rev(git, repo, f"{base}^{{tree}}")
    if base_tree is None:
        raise CorruptWorkingCopy(f"{repo} lacks the tree of {base}")
    if tree == base_tree:
        return None
    diff = await git.run(
        "diff-tree", "-r", "-z", "--name-only", "--no-renames", base_tree, tree, repo=repo
    )
    touched = {p for p in diff.stdout.decode(errors="surrogateescape").split("\0") if p}
    others = sorted(touched - set(blobs))
    if others:
        raise PermanentGitError(
            f"writing {', '.join(sorted(blobs))} would also change {', '.join(others[:5])} "
            "(a file where the repository has a directory, or the reverse); refusing"
        )
    done = await git.run(
        "commit-tree",
        tree,
        "-p",
        base,
        "-F",
        "-",
        repo=repo,
        env=identity.env(),
        stdin=message.encode(),
    )
    return done.stdout.decode().strip()


async def push(git: runner.Git, repo: Path, commit: str, *, call: runner.Call) -> bool:
    """Push ``commit`` to ``call.branch``: True if taken, False if the branch moved meanwhile."""
    done = await git.run(
        "push",
        "--porcelain",
        "--no-verify",
        "origin",
        f"{commit}:refs/heads/{call.branch}",
        repo=repo,
        call=call,
        check=False,
    )
    if done.code == 0:
        return True
    status = [line for line in done.stdout.decode(errors="replace").splitlines() if line[:1] == "!"]
    if status and all(_MOVED.search(line) for line in status):
        return False
    raise runner.failure(done, call, action="push")


async def rev(git: runner.Git, repo: Path, name: str) -> str | None:
    """The object ``name`` resolves to in ``repo``, or None."""
    done = await git.run(
        "rev-parse", "-q", "--verify", "--end-of-options", name, repo=repo, check=False
    )
    return done.stdout.decode().strip() or None if done.code == 0 else None
