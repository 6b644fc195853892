"""Fixtures for the API server tests: the app over the real store (both backends, through the
``store`` fixture), an in-process httpx client, and a real uvicorn for streaming watches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from orbit.server import create_app
from orbit.store.base import ResourceStore

from .helpers import NS, P


@pytest.fixture
def make_app(store: ResourceStore) -> Callable[..., FastAPI]:
    def make(**kwargs: Any) -> FastAPI:
        return create_app(store=store, **kwargs)

    return make


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    return make_app()


@pytest.fixture
async def client(
    app: FastAPI, store: ResourceStore, admin_headers: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client of ``app`` (authorization is tested in tests/security)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://orbit.test", headers=admin_headers
    ) as http:
        created = await http.post(f"{P}/namespaces", json={"metadata": {"name": NS}})
        assert created.status_code == 201, created.text
        yield http


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in the test's own event loop (the store's loop)."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(30):
            while not self.server.started:
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"

    def running_requests(self) -> int:
        return len(self.server.server_state.tasks)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


@pytest.fixture
async def live(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[LiveServer]:
    """A real server (for watch streams); ``client`` has created the default namespace."""
    server = LiveServer(app)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
