"""Running the ``k3d`` and ``docker`` CLIs: asyncio subprocesses bounded by a timeout, their
failures sorted into transient and permanent provider errors.

A failure's message carries the command and its trimmed stderr, never its stdout (``k3d
kubeconfig get`` prints keys) and never a token. When k3d fails the way it does without a Docker
daemon, ``docker info`` is asked why, so the person sees Docker's own words: Docker missing or
stopped is permanent (a person must start it); Docker answering again means the failure was a
blip, and it is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from orbit.providers.base import ProviderPermanentError, ProviderTransientError
from orbit.providers.k3d.spec import Settings

log = logging.getLogger("orbit.providers.k3d")

#: Reads answer fast; mutations wait for nodes (``--wait``) up to ``timeoutSeconds``.
READ_TIMEOUT = 60.0
#: Over k3d's own ``--timeout``, so k3d reports its timeout before we kill it.
GRACE = 30.0
STDERR_LIMIT = 400

_DOCKER_DOWN = re.compile(
    r"cannot connect to the docker daemon|is the docker daemon running|error during connect"
    r"|docker\.sock|failed to (?:connect|get docker|list containers)",
    re.IGNORECASE,
)
_PERMANENT = re.compile(
    r"unknown (?:flag|shorthand flag|command)|invalid argument|manifest unknown|manifest for .* "
    r"not found|pull access denied|repository does not exist|invalid reference format"
    r"|invalid cluster name|must be <= \d+ characters|reserved for internal usage"
    r"|permission denied",
    re.IGNORECASE,
)
_SECRET = re.compile(r"(token|password|secret)([=:]\s*|\s+)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Completed:
    stdout: bytes
    stderr: str


class Cli:
    """The k3d and docker executables of one credential."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._env = dict(os.environ)
        if settings.docker_host:
            self._env["DOCKER_HOST"] = settings.docker_host

    @property
    def timeout(self) -> float:
        return self._settings.timeout_seconds

    async def k3d(self, *args: str, mutating: bool = False) -> Completed:
        """Run ``k3d args``; a non-zero exit raises the provider error it amounts to."""
        exe = _resolve(self._settings.k3d_path)
        if exe is None:
            raise ProviderPermanentError(
                f"the k3d CLI was not found at {self._settings.k3d_path!r} (nor on PATH): "
                "install k3d (https://k3d.io) or set the credential's config.k3dPath"
            )
        timeout = self.timeout + GRACE if mutating else READ_TIMEOUT
        code, done = await _run(exe, args, seconds=timeout, env=self._env)
        if code == 0:
            return done
        message = f"`k3d {_show(args)}` failed: {trim(done.stderr) or f'exit status {code}'}"
        if _DOCKER_DOWN.search(done.stderr):
            await self._check_docker(message)
            raise ProviderTransientError(message)
        if _PERMANENT.search(done.stderr):
            raise ProviderPermanentError(message)
        raise ProviderTransientError(message)

    async def docker(self, *args: str) -> Completed:
        """Run ``docker args`` (only ``info`` and ``exec``); non-zero exits are transient."""
        exe = _resolve(self._settings.docker_path)
        if exe is None:
            raise ProviderPermanentError(_no_docker(self._settings.docker_path))
        code, done = await _run(exe, args, seconds=self.timeout + GRACE, env=self._env)
        if code != 0:
            raise ProviderTransientError(
                f"`docker {_show(args)}` failed: {trim(done.stderr) or f'exit status {code}'}"
            )
        return done

    async def _check_docker(self, k3d_message: str) -> None:
        """Raise 'Docker is not reachable' when ``docker info`` agrees that it is not."""
        exe = _resolve(self._settings.docker_path)
        if exe is None:
            raise ProviderPermanentError(
                f"{_no_docker(self._settings.docker_path)} ({k3d_message})"
            )
        code, done = await _run(
            exe, ("info", "--format", "{{.ServerVersion}}"), seconds=READ_TIMEOUT, env=self._env
        )
        if code != 0:
            raise ProviderPermanentError(
                "Docker is not reachable: "
                f"{trim(done.stderr) or f'docker info exited {code}'}; start Docker (or set "
                "the credential's config.dockerHost) and the cluster will be retried"
            )


def _no_docker(path: str) -> str:
    return (
        f"Docker is not reachable: the docker CLI was not found at {path!r} (nor on PATH); "
        "install Docker (https://docs.docker.com/get-docker/) or set the credential's "
        "config.dockerPath"
    )


def _resolve(path: str) -> str | None:
    """The executable ``path`` names (a bare name is looked up on PATH)."""
    if os.sep in path:
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which(path)


async def _run(
    exe: str, args: Sequence[str], *, seconds: float, env: dict[str, str]
) -> tuple[int, Completed]:
    name = os.path.basename(exe)
    log.debug("Running %s %s", name, _show(args))
    try:
        proc = await asyncio.create_subprocess_exec(
            exe,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except OSError as err:
        raise ProviderPermanentError(f"cannot run {exe!r}: {err.strerror or err}") from None
    try:
        async with asyncio.timeout(seconds):
            stdout, stderr = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise ProviderTransientError(
            f"`{name} {_show(args)}` did not finish within {seconds:g}s; it was stopped "
            "and will be retried"
        ) from None
    assert proc.returncode is not None
    return proc.returncode, Completed(stdout, stderr.decode(errors="replace"))


def trim(stderr: str) -> str:
    """The lines of ``stderr`` that say what went wrong, short and with secrets masked."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"FATA|ERRO|error", line, re.IGNORECASE)]
    text = " | ".join(errors or lines[-3:])
    text = _SECRET.sub(lambda m: f"{m[1]}{m[2]}***", text)
    return text if len(text) <= STDERR_LIMIT else text[: STDERR_LIMIT - 1] + "…"


def _show(args: Sequence[str]) -> str:
    return " ".join(args)
