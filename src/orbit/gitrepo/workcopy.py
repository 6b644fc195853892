"""A working copy Orbit alone writes to: kept equal to a remote branch, and written back to.

Layout, for a working copy at ``<dir>/<name>``::

    <dir>/<name>/          the clone: a work tree checked out detached at origin/<branch>
    <dir>/.<name>.clone/   a clone being made; renamed to <name> only once complete
    <dir>/.<name>.tmp/     private per-command directories (SSH key, HOME), mode 0700
    <dir>/.<name>.lock     the cross-process lock (:mod:`orbit.gitrepo.lock`)

Crash safety comes from the layout: a clone is made aside and renamed into place, so
``<name>`` is either absent or a whole clone; whatever a killed process left (a half-made
clone, a private directory with a key in it, git's ``*.lock`` files) is removed by the next
holder of the lock, which is the only process that could have been writing there. A clone of
another URL, or one git reports damaged, is deleted and made again: it holds nothing that the
remote does not.

Reads go through git's objects at ``HEAD``, not the file system: :meth:`WorkingCopy.files`
lists regular files only and :meth:`WorkingCopy.read` returns a blob, so a symlink in the
user's repository can never make Orbit read a file outside it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from orbit.gitrepo import lock, publish, runner
from orbit.gitrepo.auth import NO_AUTH, Auth, Remote, parse_remote
from orbit.gitrepo.errors import CorruptWorkingCopy, PermanentGitError, TransientGitError

log = logging.getLogger("orbit.gitrepo")

#: Waiting for another task or process to finish with the working copy.
LOCK_TIMEOUT = 600.0
#: First pause after a rejected push; doubled each time, jittered, at most PUSH_BACKOFF_MAX.
PUSH_BACKOFF = 0.1
PUSH_BACKOFF_MAX = 2.0
_LEARNED_HOSTS = "orbit-known-hosts"


class WorkingCopy:
    """The clone at ``path``; one task at a time uses it (the methods take the lock)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        git: str = "git",
        timeout: float = runner.DEFAULT_TIMEOUT,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.path = Path(path).absolute()
        self._staging = self.path.parent / f".{self.path.name}.clone"
        self._tmp = self.path.parent / f".{self.path.name}.tmp"
        self._git = runner.Git(executable=git, timeout=timeout, scratch=self._tmp)
        self._lock_timeout = lock_timeout

    async def sync(self, url: str, *, branch: str, auth: Auth = NO_AUTH) -> str:
        """Make the work tree exactly ``origin/<branch>`` of ``url``; return its commit."""
        remote = parse_remote(url, auth)
        async with self._exclusive():
            await self._check_branch(branch)
            if self.path.exists() and not await self._holds(url):
                log.info("Re-cloning %s: it held another repository than %s", self.path, url)
                await lock.in_thread(_remove, self.path)
            if not self.path.exists():
                return await self._clone(remote, branch=branch, auth=auth)
            try:
                return await self._update(self.path, self._call(remote, auth, branch))
            except CorruptWorkingCopy as err:
                log.warning("Re-cloning %s: %s", self.path, err)
                await lock.in_thread(_remove, self.path)
                return await self._clone(remote, branch=branch, auth=auth)

    async def head(self) -> str:
        """The commit checked out (what the last :meth:`sync` or push left)."""
        async with self._exclusive():
            return await self._head()

    async def files(self, under: str = "") -> list[str]:
        """The regular files at ``HEAD`` below ``under`` (all when empty), relative, sorted."""
        prefix = publish.check_path(under.strip("/")) if under.strip("/") else ""
        async with self._exclusive():
            return sorted(await self._regular_files(prefix, recursive=True))

    async def read(self, path: str) -> bytes:
        """The content of the regular file ``path`` at ``HEAD``; FileNotFoundError if none."""
        publish.check_path(path)
        async with self._exclusive():
            blob = (await self._regular_files(path, recursive=False)).get(path)
            if blob is None:
                raise FileNotFoundError(f"no regular file {path!r} at HEAD of {self.path}")
            return (await self._git.run("cat-file", "blob", blob, repo=self.path)).stdout

    async def commit_and_push(
        self,
        changes: Mapping[str, bytes | None],
        *,
        message: str,
        author_name: str,
        author_email: str,
        branch: str,
        auth: Auth = NO_AUTH,
        attempts: int = 5,
    ) -> str | None:
        """Commit ``changes`` (path -> content, None deletes) on ``origin/<branch>`` and push.

        Returns the pushed commit, or None when the branch already holds exactly this
        content. When someone else pushed first, the same changes are applied again on their
        commit (they are the whole desired content of those paths, so this cannot conflict)
        and pushed again, up to ``attempts`` times; nothing is ever force-pushed.
        """
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        changes = dict(changes)  # the caller's mapping may change while we wait for the lock
        for path in changes:
            publish.check_path(path)
        identity = publish.Identity(name=author_name, email=author_email)
        async with self._exclusive():
            await self._check_branch(branch)
            url = await self._origin_url()
            remote = parse_remote(url, auth)
            fetching = self._call(remote, auth, branch)
            call = self._call(remote, auth, branch, action="push")
            blobs = await publish.hash_blobs(self._git, self.path, changes, scratch=self._tmp)
            for attempt in range(1, attempts + 1):
                base = await self._tracking(fetching)
                commit = await publish.build_commit(
                    self._git, self.path, base, blobs, message=message, identity=identity
                )
                if commit is None:
                    await self._checkout(self.path, base)
                    return None
                log.info("Pushing %s to %s branch %s (attempt %d)", commit, url, branch, attempt)
                if await publish.push(self._git, self.path, commit, call=call):
                    await self._git.run(
                        "update-ref", f"refs/remotes/origin/{branch}", commit, repo=self.path
                    )
                    await self._checkout(self.path, commit)
                    return commit
                if attempt < attempts:
                    pause = min(PUSH_BACKOFF * 2 ** (attempt - 1), PUSH_BACKOFF_MAX)
                    await asyncio.sleep(pause * random.uniform(0.5, 1.5))
                    await self._fetch(self.path, fetching)
        raise TransientGitError(
            f"the push to branch {branch!r} of {url} was rejected {attempts} times because "
            "others pushed meanwhile; will retry"
        )

    # -- the steps ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        async with lock.exclusive(self.path, wait=self._lock_timeout):
            await lock.in_thread(self._tidy)
            yield

    def _tidy(self) -> None:
        """Remove what a killed holder of the lock may have left (we hold it now)."""
        shutil.rmtree(self._staging, ignore_errors=True)
        shutil.rmtree(self._tmp, ignore_errors=True)
        dotgit = self.path / ".git"
        if dotgit.is_dir():
            for stale in [*dotgit.glob("*.lock"), *(dotgit / "refs").rglob("*.lock")]:
                stale.unlink(missing_ok=True)

    def _call(
        self,
        remote: Remote,
        auth: Auth,
        branch: str,
        *,
        action: str = "fetch",
        repo: Path | None = None,
    ) -> runner.Call:
        learned = (repo or self.path) / ".git" / _LEARNED_HOSTS
        return runner.Call(
            remote=remote, auth=auth, branch=branch, action=action, learned_hosts=learned
        )

    async def _check_branch(self, branch: str) -> None:
        done = await self._git.run("check-ref-format", f"refs/heads/{branch}", check=False)
        if done.code != 0 or branch.startswith("-"):
            raise PermanentGitError(f"{branch!r} is not a valid branch name")

    async def _holds(self, url: str) -> bool:
        if not (self.path / ".git").is_dir():
            return False
        done = await self._git.run(
            "config", "--get", "remote.origin.url", repo=self.path, check=False
        )
        return done.code == 0 and done.stdout.decode().strip() == url

    async def _origin_url(self) -> str:
        if not (self.path / ".git").is_dir():
            raise PermanentGitError(f"{self.path} holds no clone: sync it before writing to it")
        done = await self._git.run("config", "--get", "remote.origin.url", repo=self.path)
        return done.stdout.decode().strip()

    async def _regular_files(self, path: str, *, recursive: bool) -> dict[str, str]:
        """Path -> blob of the regular files at ``HEAD`` named by (or, recursive, under)
        ``path``; symlinks and submodules are left out, so nothing is read outside the tree."""
        await self._head()
        done = await self._git.run(
            "ls-tree",
            *(["-r"] if recursive else []),
            "-z",
            "--full-tree",
            "HEAD",
            *(["--", path] if path else []),
            repo=self.path,
            env={"GIT_LITERAL_PATHSPECS": "1"},
        )
        found = {}
        for entry in done.stdout.decode(errors="surrogateescape").split("\0"):
            meta, _, name = entry.partition("\t")
            fields = meta.split(" ")
            if fields[0] in ("100644", "100755"):
                found[name] = fields[2]
        return found

    async def _head(self) -> str:
        if not (self.path / ".git").is_dir():
            raise PermanentGitError(f"{self.path} holds no clone: sync it first")
        sha = await publish.rev(self._git, self.path, "HEAD^{commit}")
        if sha is None:
            raise CorruptWorkingCopy(f"{self.path} has no commit checked out; sync it again")
        return sha

    async def _clone(self, remote: Remote, *, branch: str, auth: Auth) -> str:
        log.info("Cloning branch %s of %s into %s", branch, remote.url, self.path)
        staging = self._staging
        await self._git.run("init", "-q", str(staging))
        await self._git.run("remote", "add", "origin", remote.url, repo=staging)
        sha = await self._update(staging, self._call(remote, auth, branch, repo=staging))
        await lock.in_thread(os.rename, staging, self.path)  # atomic: whole clone or none
        return sha

    async def _update(self, repo: Path, call: runner.Call) -> str:
        await self._fetch(repo, call)
        sha = await self._tracking(call, repo=repo, fetched=True)
        await self._checkout(repo, sha)
        return sha

    async def _fetch(self, repo: Path, call: runner.Call) -> None:
        branch = call.branch
        log.info("Fetching branch %s of %s into %s", branch, call.remote.url, repo)
        refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        await self._git.run("fetch", "-q", "--no-tags", "origin", refspec, repo=repo, call=call)

    async def _tracking(
        self, call: runner.Call, *, repo: Path | None = None, fetched: bool = False
    ) -> str:
        """The commit of ``origin/<branch>``, fetching it first if this clone lacks it."""
        repo = repo or self.path
        name = f"refs/remotes/origin/{call.branch}^{{commit}}"
        sha = await publish.rev(self._git, repo, name)
        if sha is None and not fetched:
            await self._fetch(repo, call)
            sha = await publish.rev(self._git, repo, name)
        if sha is None:
            raise CorruptWorkingCopy(f"{repo} lacks origin/{call.branch} after fetching it")
        return sha

    async def _checkout(self, repo: Path, sha: str) -> None:
        await self._git.run("checkout", "-q", "--force", "--detach", sha, repo=repo)
        await self._git.run("clean", "-q", "-ffdx", repo=repo)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
