"""Running the ``git`` CLI: one asyncio subprocess per command, isolated, bounded, scrubbed.

Isolated, because the machine's git setup must not change what Orbit does: the environment is
built from nothing (only ``PATH``, ``TMPDIR``, proxy and CA settings pass through), so no
inherited ``GIT_DIR``, ``GIT_TRACE`` or askpass helper applies; system and global config are
off, ``HOME`` is a fresh private directory, hooks are disabled, only the file, ssh and https
transports are allowed, and ``LC_ALL=C`` keeps stderr in the English that
:mod:`orbit.gitrepo.errors` reads. Bounded, because a remote can hang forever: git runs in its
own process group, and on timeout or cancellation the whole group (git, ssh, the https helper)
is killed and reaped. Scrubbed: every failure goes through :func:`errors.classify` with the
auth's secrets, which git would otherwise echo.

Each command gets its own private directory (mode 0700, under ``scratch``), holding ``HOME``,
whatever :func:`auth.prepare` writes (the SSH key) and git's stdin, stdout and stderr (files,
not pipes: see :func:`_streams`), removed when the command ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orbit.gitrepo import auth as gitauth
from orbit.gitrepo import errors

log = logging.getLogger("orbit.gitrepo")

DEFAULT_TIMEOUT = 120.0
_PASS_THROUGH = (
    "PATH",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "http_proxy",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)
#: Passed as GIT_CONFIG_KEY_n/VALUE_n: what git would otherwise take from the machine.
BASE_CONFIG: tuple[tuple[str, str], ...] = (
    ("protocol.allow", "never"),
    ("protocol.file.allow", "always"),
    ("protocol.ssh.allow", "always"),
    ("protocol.https.allow", "always"),
    ("core.hooksPath", os.devnull),
    ("credential.helper", ""),
    ("core.logAllRefUpdates", "false"),
    ("gc.autoDetach", "false"),  # a detached gc would outlive the command and its lock
    ("init.defaultBranch", "main"),
    ("advice.detachedHead", "false"),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
)


@dataclass(frozen=True)
class Call:
    """The remote side of a command: where, with which auth, for which branch."""

    remote: gitauth.Remote
    auth: gitauth.Auth = gitauth.NO_AUTH
    branch: str = ""
    action: str = "fetch"
    learned_hosts: Path | None = None

    def context(self) -> errors.Context:
        return errors.Context(
            action=self.action,
            url=self.remote.url,
            host=self.remote.host,
            branch=self.branch,
            ssh=self.remote.scheme == "ssh",
        )


@dataclass(frozen=True)
class Output:
    code: int
    stdout: bytes
    stderr: str
    secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Git:
    """The git executable, with a per-command timeout and a directory for private files."""

    executable: str = "git"
    timeout: float = DEFAULT_TIMEOUT
    scratch: Path | None = None

    async def run(
        self,
        *args: str,
        repo: Path | None = None,
        call: Call | None = None,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> Output:
        """Run ``git args`` (in ``repo``, if given); raise the error a failure amounts to
        unless ``check`` is false."""
        exe = shutil.which(self.executable, path=os.environ.get("PATH", os.defpath))
        if exe is None:
            raise errors.PermanentGitError(
                f"the git CLI was not found ({self.executable!r}): install git 2.31 or later"
            )
        if self.scratch is not None:
            self.scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
        private = Path(tempfile.mkdtemp(prefix="git-", dir=self.scratch))  # mode 0700
        try:
            auth = call.auth if call else gitauth.NO_AUTH
            learned = call.learned_hosts if call else None
            prepared = gitauth.prepare(auth, private, learned_hosts=learned)
            full_env = build_env(private, repo=repo, prepared=prepared, extra=env or {})
            code, out, err = await self._spawn(
                exe, args, env=full_env, cwd=repo, stdin=stdin, private=private
            )
            gitauth.learn_host_keys(auth, private, learned)
        finally:
            shutil.rmtree(private, ignore_errors=True)
        done = Output(code, out, err, prepared.secrets)
        if check and code != 0:
            raise failure(done, call, action=args[0])
        return done

    async def _spawn(
        self,
        exe: str,
        args: Sequence[str],
        *,
        env: dict[str, str],
        cwd: Path | None,
        stdin: bytes | None,
        private: Path,
    ) -> tuple[int, bytes, str]:
        log.debug("Running git %s", " ".join(args))
        fds = _streams(private, stdin)
        try:
            proc = await asyncio.create_subprocess_exec(
                exe,
                *args,
                stdin=fds[0],
                stdout=fds[1],
                stderr=fds[2],
                env=env,
                cwd=cwd,
                start_new_session=True,  # its own process group, so a kill reaches ssh too
            )
        except OSError as err:
            raise errors.PermanentGitError(f"cannot run {exe!r}: {err.strerror or err}") from None
        finally:
            for fd in fds:
                os.close(fd)
        try:
            async with asyncio.timeout(self.timeout):
                code = await proc.wait()
        except TimeoutError:
            await _kill(proc)
            raise errors.TransientGitError(
                f"`git {args[0]}` did not finish within {self.timeout:g}s; it was stopped and "
                "will be retried"
            ) from None
        except BaseException:  # cancelled: leave no git (or ssh) running behind us
            await _kill(proc)
            raise
        return code, *_outputs(private)


def _streams(private: Path, stdin: bytes | None) -> tuple[int, int, int]:
    """File descriptors for git's stdin, stdout and stderr: files in ``private``.

    Files rather than pipes: Python 3.11 never finishes a subprocess cancelled while its
    pipes connect, and files cannot fill up and stall git either.
    """
    if stdin is None:
        source = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    else:
        gitauth.write_private(private / "stdin", stdin)
        source = os.open(private / "stdin", os.O_RDONLY | os.O_CLOEXEC)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    return (
        source,
        os.open(private / "stdout", flags, 0o600),
        os.open(private / "stderr", flags, 0o600),
    )


def _outputs(private: Path) -> tuple[bytes, str]:
    stderr = (private / "stderr").read_bytes().decode(errors="replace")
    return (private / "stdout").read_bytes(), stderr


def build_env(
    private: Path,
    *,
    repo: Path | None,
    prepared: gitauth.Prepared,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """The whole environment of one git command (nothing else is inherited)."""
    env = {name: os.environ[name] for name in _PASS_THROUGH if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(private),
        LC_ALL="C",
        LANGUAGE="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ATTR_NOSYSTEM="1",
        GIT_NO_REPLACE_OBJECTS="1",
    )
    if repo is not None:  # never let git search the parents for a repository
        env["GIT_DIR"] = str(repo / ".git")
        env["GIT_WORK_TREE"] = str(repo)
    config = (*BASE_CONFIG, *prepared.config)
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for i, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    env.update(prepared.env)
    env.update(extra)
    return env


def failure(done: Output, call: Call | None, *, action: str) -> errors.GitError:
    """The error a failed command amounts to; ``stderr`` (and porcelain status) scrubbed."""
    context = call.context() if call else errors.Context(action=action)
    status = "\n".join(
        line for line in done.stdout.decode(errors="replace").splitlines() if line[:1] == "!"
    )
    text = f"{done.stderr}\n{status}" if status else done.stderr
    if not text.strip():
        text = f"exit status {done.code}"
    return errors.classify(text, context, secrets=done.secrets)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()
