"""A webhook receiver (a real HTTP server on 127.0.0.1 that the test stops and starts), and
Orbit's side: the API over the real store with a vault, the publisher and the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from orbit import catalog
from orbit.api import v1alpha1
from orbit.bus import InProcessBus
from orbit.crypto import Keyring
from orbit.runtime.events import EventRecorder
from orbit.security.secrets import SecretVault
from orbit.server import create_app
from orbit.store import SqlStore, open_store
from orbit.webhooks import WebhookDispatcher
from tests.bus.conftest import Pipeline, running_pipeline
from tests.bus.natsserver import free_port
from tests.conftest import admin_token

P = f"/apis/{v1alpha1.API_VERSION}"
SECRET = "s3cr3t-webhook-signing-key-7f1c"


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.body)
        return loaded


@dataclass
class Receiver:
    """Answers every POST with 204 and keeps what it got; ``stop()`` closes the port."""

    port: int = field(default_factory=free_port)
    got: list[Delivery] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._open):  # keep-alive connections too: the receiver is gone
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                headers: dict[str, str] = {}
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = header.decode().partition(":")
                    headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.got.append(Delivery(headers, body))
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._open.discard(writer)
            writer.close()


@dataclass
class Hooks:
    store: SqlStore
    api: httpx.AsyncClient
    pipeline: Pipeline
    dispatcher: WebhookDispatcher

    async def webhook(self, name: str = "hook") -> v1alpha1.Webhook:
        return await self.store.get(v1alpha1.Webhook, "default", name)

    async def happen(self, cluster: str, reason: str) -> None:
        """A cluster (created if new) that something happens to."""
        try:
            obj = await self.store.get(v1alpha1.ClusterDeployment, "default", cluster)
        except Exception:
            obj = await self.store.create(
                v1alpha1.ClusterDeployment(
                    metadata=v1alpha1.ObjectMeta(name=cluster, namespace="default"),
                    spec=v1alpha1.ClusterDeploymentSpec(
                        template="sim-single-1-0-0", credential="sim"
                    ),
                )
            )
        await EventRecorder(self.store, component="test").record(
            obj, type="Normal", reason=reason, message=f"{cluster}: {reason}"
        )


async def orbit_hooks(store: SqlStore, tmp_path: Path) -> AsyncIterator[Hooks]:
    await catalog.ensure_default_namespace(store)
    app: FastAPI = create_app(store=store)
    app.state.vault = SecretVault(store, Keyring.generate())
    headers = {"Authorization": f"Bearer {await admin_token(store, tmp_path)}"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    bus = InProcessBus()
    async with (
        httpx.AsyncClient(
            transport=transport, base_url="http://orbit.test", headers=headers
        ) as api,
        running_pipeline(store, bus) as pipeline,
    ):
        dispatcher = WebhookDispatcher(
            store,
            pipeline.outbox,
            app.state.vault,
            notifier=pipeline.notifier,
            scan_interval=0.2,
            retry_base=0.2,
            retry_max=2.0,
            timeout=5.0,
        )
        task = asyncio.create_task(dispatcher.run())
        try:
            yield Hooks(store, api, pipeline, dispatcher)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await bus.close()


@pytest.fixture
async def hooks(store: SqlStore, tmp_path: Path) -> AsyncIterator[Hooks]:
    async for found in orbit_hooks(store, tmp_path):
        yield found


@pytest.fixture
async def sqlite_hooks(tmp_path: Path) -> AsyncIterator[Hooks]:
    """The same on SQLite only (for the long receiver-down test)."""
    store = await open_store(f"sqlite:///{tmp_path / 'orbit.db'}")
    try:
        async for found in orbit_hooks(store, tmp_path):
            yield found
    finally:
        await store.close()


async def create_webhook(
    api: httpx.AsyncClient, url: str, *, name: str = "hook", **spec: object
) -> None:
    cred = {
        "metadata": {"name": f"{name}-secret"},
        "spec": {"provider": "webhook", "secretData": {"secret": SECRET}},
    }
    made = await api.post(f"{P}/namespaces/default/credentials", json=cred)
    assert made.status_code == 201, made.text
    body = {
        "metadata": {"name": name},
        "spec": {"url": url, "secretRef": {"name": f"{name}-secret"}, **spec},
    }
    made = await api.post(f"{P}/namespaces/default/webhooks", json=body)
    assert made.status_code == 201, made.text
