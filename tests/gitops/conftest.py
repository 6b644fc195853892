"""GitOps fixtures: a real bare repository a "person" pushes to, and an Orbit Plane syncing it.

``fleet`` is a bare git repository (``file://``) holding a README, with a clone standing for
the team (``fleet.commit({...})`` commits and pushes files, None deleting one). ``orbit`` runs
the whole Orbit Plane in this event loop (``orbit.server.runner.running``: store, simulated
Cluster Plane with short latencies, every controller, the GitRepository controller) on SQLite
in ``tmp_path``; ``orbit.restart()`` stops it and starts it again on the same data directory,
``orbit.drop_database()`` deletes its store (the simulated plane and the age identity stay).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from orbit import errors, secretfiles
from orbit.api import v1alpha1
from orbit.config import ControllerSettings, GitOpsSettings, Settings, SimSettings
from orbit.gitops import open_identity
from orbit.security.secrets import write_credential
from orbit.server.runner import Plane, running
from tests.gitrepo.conftest import git, make_bare

NS = v1alpha1.FLEET_NAMESPACE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Fleet:
    """The bare repository and the team's clone of it."""

    path: Path
    clone: Path

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Commit ``files`` (path -> text, None deletes) as the team and push; the commit."""
        git("pull", "-q", "--rebase", "origin", "main", cwd=self.clone)
        for name, text in files.items():
            target = self.clone / name
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git("add", "-A", cwd=self.clone)
        git("commit", "-q", "-m", message, cwd=self.clone)
        for _ in range(5):  # Orbit may push its write-back between our pull and our push
            try:
                git("push", "-q", "origin", "HEAD:main", cwd=self.clone)
                break
            except AssertionError:
                git("pull", "-q", "--rebase", "origin", "main", cwd=self.clone)
        else:
            raise AssertionError("could not push: the branch kept moving")
        return git("rev-parse", "HEAD", cwd=self.clone).strip()

    def head(self) -> str:
        return git("rev-parse", "main", cwd=self.path).strip()

    def show(self, path: str) -> str | None:
        """``path`` on main, read at one commit (Orbit may push between two git calls)."""
        head = self.head()
        files = git("ls-tree", "-r", "--name-only", head, cwd=self.path).split()
        return git("show", f"{head}:{path}", cwd=self.path) if path in files else None

    def status(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        text = self.show(f".orbit/status/{namespace}/{kind.lower()}/{name}.yaml")
        return None if text is None else yaml.safe_load(text)

    def subjects(self) -> list[str]:
        return git("log", "--format=%s", "main", cwd=self.path).splitlines()

    def history(self) -> str:
        """Every commit's full patch, on every ref: what anyone who clones can read."""
        return git("log", "-p", "--all", "--format=%H %s", cwd=self.path)


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    path = make_bare(tmp_path / "fleet.git", {"README.md": b"# fleet\n"})
    clone = tmp_path / "team"
    git("clone", "-q", "-b", "main", str(path), str(clone))
    return Fleet(path, clone)


def cluster_yaml(name: str, *, workers: int = 1, namespace: str = "default") -> str:
    return (
        "apiVersion: orbit.k8or.io/v1alpha1\n"
        "kind: ClusterDeployment\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"  namespace: {namespace}\n"
        "spec:\n"
        "  template: sim-single-1-0-0\n"
        "  credential: sim\n"
        "  config:\n"
        f"    workers: {workers}\n"
    )


def credential_yaml(name: str, value: str, *, namespace: str = "default") -> str:
    """A Credential of provider sim with the secret value ``token`` (in plain text)."""
    return (
        "apiVersion: orbit.k8or.io/v1alpha1\n"
        "kind: Credential\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"  namespace: {namespace}\n"
        "spec:\n"
        "  provider: sim\n"
        "  config:\n"
        "    region: lab  # not secret\n"
        "  secretData:\n"
        f"    token: {value}\n"
    )


def encrypted_for(orbit: Orbit, text: str) -> str:
    """``text`` with its secret values encrypted for ``orbit``'s age identity."""
    _, recipient = open_identity(orbit.settings().age_identity_file())
    assert recipient is not None
    return secretfiles.encrypt_text(text, [secretfiles.parse_recipient(recipient)])


@dataclass
class Orbit:
    """An Orbit Plane in this event loop, restartable on the same data directory."""

    data_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)
    plane: Plane | None = None
    _stack: AsyncExitStack | None = None

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            port=free_port(),
            sim=SimSettings(node_latency=0.05, pod_latency=0.05, endpoint_port=free_port()),
            controllers=ControllerSettings(
                workers=4, poll_interval=0.05, base_delay=0.05, max_delay=1.0
            ),
            gitops=GitOpsSettings(write_interval=0.2, git_timeout=60),
            **self.extra,
        )

    async def start(self) -> Plane:
        self._stack = AsyncExitStack()
        self.plane = await self._stack.enter_async_context(running(self.settings()))
        return self.plane

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self.plane = None

    async def restart(self) -> Plane:
        await self.stop()
        return await self.start()

    def drop_database(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            (self.data_dir / f"orbit.db{suffix}").unlink(missing_ok=True)

    @property
    def store(self) -> Any:
        assert self.plane is not None
        return self.plane.store

    async def repository(
        self, fleet_url: str, *, name: str = "fleet", namespace: str = NS, **spec: Any
    ) -> v1alpha1.GitRepository:
        """Create the GitRepository (as ``orbit apply -f bootstrap.yaml`` would)."""
        body = {"url": fleet_url, "interval": "1h", **spec}
        repo = v1alpha1.GitRepository.model_validate(
            {"metadata": {"name": name, "namespace": namespace}, "spec": body}
        )
        return await self.store.create(repo)  # type: ignore[no-any-return]

    async def get_repository(
        self, name: str = "fleet", namespace: str = NS
    ) -> v1alpha1.GitRepository:
        return await self.store.get(v1alpha1.GitRepository, namespace, name)  # type: ignore[no-any-return]

    async def condition(
        self, type_: str = "Ready", name: str = "fleet", namespace: str = NS
    ) -> v1alpha1.Condition | None:
        repo = await self.get_repository(name, namespace)
        return v1alpha1.get_condition(repo.status.conditions, type_) if repo.status else None

    async def request_sync(self, name: str = "fleet", namespace: str = NS) -> str:
        """Ask for a sync now (as the hook and ``orbit gitops sync`` do); the request's id."""
        stamp = f"{time.time():.6f}"
        for _ in range(20):  # the controller's status writes move the resourceVersion
            repo = await self.get_repository(name, namespace)
            repo.metadata.annotations[v1alpha1.ANNOTATION_REQUESTED] = stamp
            try:
                await self.store.update(repo)
                return stamp
            except errors.Conflict:
                await asyncio.sleep(0.01)
        raise AssertionError("could not annotate the GitRepository: it kept changing")

    async def synced(
        self, stamp: str, name: str = "fleet", namespace: str = NS
    ) -> v1alpha1.Condition:
        """Wait until the sync request ``stamp`` was handled; its Ready condition."""

        async def handled() -> v1alpha1.Condition | None:
            repo = await self.get_repository(name, namespace)
            if repo.status is None or repo.status.last_handled_request != stamp:
                return None
            return v1alpha1.get_condition(repo.status.conditions, "Ready")

        found: v1alpha1.Condition = await until(handled, f"sync {stamp} of {name}")
        return found

    async def put_credential(
        self,
        *,
        provider: str = v1alpha1.GIT_PROVIDER,
        config: dict[str, Any] | None = None,
        secrets: dict[str, str | None],
        name: str = "git-access",
    ) -> None:
        """Create or replace a Credential in the fleet namespace (as `orbit apply` would,
        sealed): a GitRepository's ``credentialRef``."""
        cred = v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name=name, namespace=NS),
            spec=v1alpha1.CredentialSpec(
                provider=provider, config=config or {}, secret_data=secrets
            ),
        )
        try:
            old = await self.store.get(v1alpha1.Credential, NS, name)
        except errors.NotFound:
            old = None
        await write_credential(self.store, self.plane.vault, cred, old=old)  # type: ignore[union-attr]

    async def sim_uids(self) -> list[str]:
        """The uids of the clusters the simulated Cluster Plane holds, sorted."""
        return sorted(c.uid for c in await self.plane.sim.list_clusters())  # type: ignore[union-attr]

    async def lose_the_database(self) -> None:
        """The disaster: the Orbit Plane's database is dropped and an empty Orbit starts on
        it. The Cluster Plane, the repository and the age identity (kept apart) remain."""
        await self.stop()
        self.drop_database()
        await self.start()
        assert await self.clusters() == {}

    async def clusters(self, namespace: str = "default") -> dict[str, v1alpha1.ClusterDeployment]:
        found = await self.store.list(v1alpha1.ClusterDeployment, namespace)
        return {c.metadata.name: c for c in found.items}

    async def ready(self, *names: str, namespace: str = "default") -> None:
        async def all_ready() -> bool:
            have = await self.clusters(namespace)
            return all(n in have and have[n].status.phase == v1alpha1.Phase.READY for n in names)

        await until(all_ready, f"clusters {', '.join(names)} Ready")


@pytest.fixture
async def orbit(tmp_path: Path) -> AsyncIterator[Orbit]:
    o = Orbit(tmp_path / "orbit")
    await o.start()
    try:
        yield o
    finally:
        await o.stop()
