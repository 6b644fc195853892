"""Fixtures for the CLI tests: a real Orbit API server and a way to run ``orbit`` against it.

The server is ``orbit.server.create_app`` over the real SQL store (SQLite in ``tmp_path``) with
the real admission, served by uvicorn on 127.0.0.1 (port 0) in a background thread with its own
event loop; the store is opened inside that loop, where it is used. The CLI runs in the test's
thread through ``typer.testing.CliRunner``, exactly as a user's shell would run it, over HTTP.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.cli import app
from orbit.client import OrbitClient
from orbit.crypto import Keyring
from orbit.security.secrets import SecretVault
from orbit.server import create_app
from orbit.store import open_store
from tests.conftest import admin_token

PROVIDERS = ("sim", "ssh")


class ServerThread:
    """uvicorn in a thread of its own; ``url`` once it listens."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.server: uvicorn.Server | None = None
        self.token = ""
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="orbit-test-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by start()
            self.error = exc

    async def _serve(self) -> None:
        store = await open_store(self.database, poll_interval=0.05)
        try:
            self.token = await admin_token(store, Path(self.database.split(":///", 1)[1]).parent)
            keys = Keyring.load(Path(self.database.split(":///", 1)[1]).parent / "keys.json")
            api = create_app(
                store=store,
                vault=SecretVault(store, keys),
                admission=Admission(store, providers=PROVIDERS),
                bookmark_seconds=1.0,
            )
            config = uvicorn.Config(
                api,
                host="127.0.0.1",
                port=0,
                lifespan="off",
                log_level="warning",
                timeout_graceful_shutdown=2,
            )
            self.server = uvicorn.Server(config)
            await self.server.serve()
        finally:
            await store.close()

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not (self.server is not None and self.server.started):
            if self.error is not None:
                raise self.error
            if time.monotonic() > deadline:
                raise TimeoutError("the test Orbit server did not start within 60s")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def server_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test server's URL; ``$ORBIT_TOKEN`` holds its admin token, so the CLI and clients
    made in the test authenticate as the admin (authorization is tested in tests/security)."""
    thread = ServerThread(f"sqlite:///{tmp_path / 'orbit.db'}")
    url = thread.start()
    monkeypatch.setenv("ORBIT_TOKEN", thread.token)
    try:
        yield url
    finally:
        thread.stop()


@pytest.fixture
def client(server_url: str) -> Iterator[OrbitClient]:
    """A client on the test server, with the ``default`` namespace created."""
    with OrbitClient(server_url) as orbit:
        orbit.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="default")))
        yield orbit


@dataclass
class Cli:
    """Runs ``orbit --server URL ...`` in-process and returns click's Result."""

    url: str

    def __call__(self, command: str | list[str], *, input: str | None = None) -> Result:
        args = shlex.split(command) if isinstance(command, str) else command
        return CliRunner().invoke(app, ["--server", self.url, *args], input=input)

    def ok(self, command: str | list[str], *, input: str | None = None) -> str:
        """Run, assert exit 0, return stdout."""
        result = self(command, input=input)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result.stdout


@pytest.fixture
def cli(server_url: str, client: OrbitClient) -> Cli:
    return Cli(server_url)
