"""The sources of a ServiceTemplate that live outside Orbit: a path in a git repository (plain
YAML files or a kustomization) and a Helm chart.

Everything runs the real tools (``git``, ``kubectl kustomize`` or ``kustomize``, ``helm``) as
subprocesses with an argument list — never a shell — a timeout, and no terminal, so a remote
that asks for a password fails instead of hanging.

Git checkouts are cached under ``cache_dir/git`` per (url, ref): ``<key>`` is a symlink to the
current checkout directory, replaced atomically when a fetch brings a new commit, so a render
that already resolved the old directory keeps reading a complete tree; ``<key>.fetched``
records when the ref was last fetched. Fetches of one key are serialised within a process
by a lock; separate processes may fetch the same key at once and the last swap wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import yaml

from orbit.api import v1alpha1
from orbit.delivery.render import RenderError, SourceUnavailable, parse_documents, render_documents

GIT_TIMEOUT = 120.0
TOOL_TIMEOUT = 120.0
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_URL_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:(?!//)[^\s]*$")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
# Versions of a key older than this are no longer read by anyone and may be removed.
_STALE_CHECKOUT = 2 * GIT_TIMEOUT

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def redact(text: str) -> str:
    """``text`` without the user-info part of any URL (``https://user:token@host``)."""
    return _USERINFO.sub("***@", text)


def check_git_url(url: str) -> str | None:
    """Why ``url`` is not a git URL Orbit will fetch, or None. Allowed: https, http, ssh, git
    and file URLs, and scp-like ``git@host:path``; never git's command-running transports."""
    if url.startswith(_URL_SCHEMES):
        return None
    if "::" not in url and not url.startswith("-") and _SCP_LIKE.match(url):
        return None
    return (
        f"unsupported git URL {redact(url)!r}: use https://, http://, ssh://, git://, file:// "
        "or user@host:path"
    )


def check_repo_path(path: str) -> str | None:
    """Why ``path`` is not a path inside a repository, or None."""
    if path.startswith("/") or ".." in Path(path).parts:
        return f"path {path!r} must be relative to the repository root and stay inside it"
    return None


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


async def run(
    argv: list[str],
    *,
    time_limit: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Completed:
    """Run ``argv`` (no shell) and collect its output; SourceUnavailable when the program is
    missing or does not finish within ``time_limit`` seconds (it is killed)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
    except FileNotFoundError as err:
        raise SourceUnavailable(f"{argv[0]} is not installed on the Orbit server") from err
    try:
        async with asyncio.timeout(time_limit):
            out, errout = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise SourceUnavailable(
            f"{argv[0]} {argv[1]} did not finish within {time_limit:g} s"
        ) from None
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise
    return Completed(
        proc.returncode or 0, out.decode(errors="replace"), errout.decode(errors="replace")
    )


def summarise(stderr: str, *, limit: int = 400) -> str:
    """The lines of a tool's stderr that say what went wrong, redacted and shortened."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    key = [ln for ln in lines if ln.lower().startswith(("fatal:", "error:", "error "))]
    text = "; ".join(key or lines[-3:]) or "no error output"
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ALLOW_PROTOCOL="file:git:http:https:ssh",
        LC_ALL="C",
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


@dataclass(frozen=True)
class Checkout:
    """A fetched tree: ``path`` holds the files of ``commit`` (no ``.git``)."""

    path: Path
    commit: str


def _lock(key: str) -> asyncio.Lock:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(key, asyncio.Lock())


async def fetch_git(
    url: str,
    ref: str,
    *,
    cache_dir: Path,
    max_age: float = 60.0,
    time_limit: float = GIT_TIMEOUT,
) -> Checkout:
    """The tree of ``url`` at ``ref`` (branch, tag or commit), from the cache when it was
    fetched less than ``max_age`` seconds ago, else fetched again (shallow)."""
    if problem := check_git_url(url):
        raise RenderError(problem)
    key = sha256(f"{url}\0{ref}".encode()).hexdigest()[:24]
    root = cache_dir / "git"
    link, stamp = root / key, root / f"{key}.fetched"
    async with _lock(key):
        current, fetched_at = _current(link, stamp)
        if current is not None and time.time() - fetched_at < max_age:
            return current
        root.mkdir(parents=True, exist_ok=True)
        work = root / f"{key}.{uuid.uuid4().hex[:12]}"
        try:
            commit = await _clone(url, ref, work, time_limit=time_limit)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
            raise
        if current is not None and current.commit == commit:
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        else:
            tmp_link = root / f"{key}.link-{uuid.uuid4().hex[:8]}"
            tmp_link.symlink_to(work.name)
            os.replace(tmp_link, link)
            if current is not None:
                # Renders may still read the replaced tree: its grace period starts now.
                with contextlib.suppress(OSError):
                    os.utime(current.path)
            current = Checkout(work.resolve(), commit)
        stamp.write_text(f"{commit}\n")  # also bumps the mtime: fresh again
        await asyncio.to_thread(_remove_stale, root, key, keep={current.path.name})
        return current


def _current(link: Path, stamp: Path) -> tuple[Checkout | None, float]:
    """The cached checkout of a key and when it was last fetched (None, 0 if there is none)."""
    try:
        target = link.resolve(strict=True)
        fetched_at = stamp.stat().st_mtime
        commit = stamp.read_text().strip()
    except (OSError, RuntimeError):
        return None, 0.0
    return (Checkout(target, commit), fetched_at) if commit else (None, 0.0)


def _remove_stale(root: Path, key: str, *, keep: set[str]) -> None:
    cutoff = time.time() - _STALE_CHECKOUT
    for path in root.glob(f"{key}.*"):
        if path.name in keep or not path.is_dir() or path.is_symlink():
            continue
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)


async def _clone(url: str, ref: str, work: Path, *, time_limit: float) -> str:
    env = _git_env()
    shown = redact(url)

    async def git(*args: str) -> Completed:
        done = await run(["git", *args], time_limit=time_limit, env=env)
        if done.returncode != 0:
            raise SourceUnavailable(
                f"git could not fetch {shown!r} at {ref!r}: {summarise(done.stderr)}"
            )
        return done

    await git("init", "-q", "--template=", str(work))
    await git("-C", str(work), "fetch", "-q", "--depth", "1", "--no-tags", "--", url, ref)
    await git("-C", str(work), "-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD")
    commit = (await git("-C", str(work), "rev-parse", "HEAD")).stdout.strip()
    await asyncio.to_thread(shutil.rmtree, work / ".git")
    return commit


async def render_git(
    source: v1alpha1.GitSource,
    context: dict[str, Any],
    *,
    cache_dir: Path,
    max_age: float = 60.0,
) -> list[dict[str, Any]]:
    """The manifests at ``source.path`` of the repository: a kustomization built with
    kustomize, else every ``*.yaml``/``*.yml`` file below it, sorted, rendered with Jinja2."""
    if problem := check_repo_path(source.path):
        raise RenderError(problem)
    checkout = await fetch_git(source.url, source.ref, cache_dir=cache_dir, max_age=max_age)
    root = checkout.path.resolve()
    base = (root / source.path).resolve()
    if not base.is_relative_to(root):
        raise RenderError(f"path {source.path!r} leaves the repository")
    if not base.exists():
        raise RenderError(
            f"path {source.path!r} does not exist in {redact(source.url)!r} at {source.ref!r} "
            f"(commit {checkout.commit[:12]})"
        )
    if base.is_dir() and any((base / name).is_file() for name in KUSTOMIZATIONS):
        return await kustomize(base, label=_relative(base, root))
    files = [base] if base.is_file() else _yaml_files(base)
    docs: list[dict[str, Any]] = []
    for path in files:
        if not path.resolve().is_relative_to(root):
            raise RenderError(f"{_relative(path, root)} links outside the repository")
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        docs.extend(render_documents(text, context, source=_relative(path, root)))
    return docs


def _relative(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return rel or "."


def _yaml_files(base: Path) -> list[Path]:
    found = []
    for path in base.rglob("*"):
        rel = path.relative_to(base).parts
        if any(part.startswith(".") for part in rel):
            continue
        if path.suffix in (".yaml", ".yml") and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(base).as_posix())


async def kustomize(directory: Path, *, label: str) -> list[dict[str, Any]]:
    """``kubectl kustomize <directory>`` (or ``kustomize build``) as Kubernetes objects."""
    if shutil.which("kubectl"):
        argv = ["kubectl", "kustomize", str(directory)]
    elif shutil.which("kustomize"):
        argv = ["kustomize", "build", str(directory)]
    else:
        raise SourceUnavailable(
            "neither kubectl nor kustomize is installed on the Orbit server; "
            f"one is needed to build the kustomization at {label!r}"
        )
    done = await run(argv, time_limit=TOOL_TIMEOUT)
    if done.returncode != 0:
        raise RenderError(f"kustomize failed: {summarise(done.stderr)}", source=label)
    return parse_documents(done.stdout, source=f"{label} (kustomize output)")


_HELM_UNREACHABLE = re.compile(
    r"failed to fetch|could not find|no such host|connection refused|timeout|"
    r"i/o timeout|unable to get|tls:|x509|looks like .* is not a valid chart repository",
    re.IGNORECASE,
)


def helm_binary(source: v1alpha1.HelmSource) -> str:
    """The path of ``helm``; SourceUnavailable saying how to fix it when it is not installed."""
    helm = shutil.which("helm")
    if helm is None:
        raise SourceUnavailable(
            "the helm binary is not installed on the Orbit server; install helm 3 to deliver "
            f"chart {source.chart!r}"
        )
    return helm


async def render_helm(
    source: v1alpha1.HelmSource,
    *,
    values: dict[str, Any],
    release: str,
    namespace: str,
    cache_dir: Path,
    time_limit: float = TOOL_TIMEOUT,
) -> list[dict[str, Any]]:
    """``helm template`` of the chart with ``values``; SourceUnavailable when helm is not
    installed or the chart cannot be fetched, RenderError when the chart does not render."""
    helm = helm_binary(source)
    home = cache_dir / "helm"
    env = dict(os.environ)
    env.update(
        HELM_CACHE_HOME=str(home / "cache"),
        HELM_CONFIG_HOME=str(home / "config"),
        HELM_DATA_HOME=str(home / "data"),
    )
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home) as tmp:
        values_file = Path(tmp) / "values.yaml"
        values_file.write_text(yaml.safe_dump(values, sort_keys=True))
        argv = [helm, "template", release, source.chart]
        if source.repo:
            argv += ["--repo", source.repo]
        if source.version:
            argv += ["--version", source.version]
        argv += ["--namespace", namespace, "-f", str(values_file)]
        done = await run(argv, time_limit=time_limit, env=env)
    label = f"chart {source.chart}"
    if done.returncode != 0:
        problem = summarise(done.stderr)
        if _HELM_UNREACHABLE.search(done.stderr):
            raise SourceUnavailable(f"helm could not fetch {label!r}: {problem}")
        raise RenderError(f"helm template failed: {problem}", source=label)
    return parse_documents(done.stdout, source=f"{label} (helm output)")
