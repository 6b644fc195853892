"""Watch streams over a real uvicorn: initial state, changes, resume, filters, timeouts, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from .conftest import LiveServer
from .helpers import P, credential, ns_path

DEADLINE = 30.0


class Watch:
    """One open watch stream; ``next()`` returns the next event (BOOKMARKs skipped unless
    asked for), failing the test if none comes within a generous deadline."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines

    async def next(self, *, bookmarks: bool = False) -> dict[str, Any]:
        async with asyncio.timeout(DEADLINE):
            async for line in self._lines:
                if not line:
                    continue
                event: dict[str, Any] = json.loads(line)
                if event["type"] != "BOOKMARK" or bookmarks:
                    return event
        raise AssertionError("the watch stream ended")

    async def rest(self) -> list[dict[str, Any]]:
        """Every remaining event, until the server ends the stream."""
        async with asyncio.timeout(DEADLINE):
            return [json.loads(line) async for line in self._lines if line]


@asynccontextmanager
async def watching(
    base: str, auth: httpx.AsyncClient, path: str, **params: str
) -> AsyncIterator[Watch]:
    """Watch ``path`` on ``base`` with the credentials of the test's ``client``."""
    async with (
        httpx.AsyncClient(base_url=base, timeout=DEADLINE, headers=auth.headers) as http,
        http.stream("GET", path, params={"watch": "true", **params}) as response,
    ):
        assert response.status_code == 200
        yield Watch(response.aiter_lines())


def summary(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["object"]["metadata"]["name"]


async def test_initial_state_then_changes(live: LiveServer, client: httpx.AsyncClient) -> None:
    await client.post(ns_path("credentials"), json=credential("a"))
    await client.post(ns_path("credentials"), json=credential("b"))
    async with watching(live.url, client, ns_path("credentials")) as watch:
        assert {summary(await watch.next()), summary(await watch.next())} == {
            ("ADDED", "a"),
            ("ADDED", "b"),
        }
        await client.patch(ns_path("credentials", "a"), json={"spec": {"description": "x"}})
        modified = await watch.next()
        assert summary(modified) == ("MODIFIED", "a")
        assert modified["object"]["spec"]["description"] == "x"
        await client.post(ns_path("credentials"), json=credential("c"))
        assert summary(await watch.next()) == ("ADDED", "c")
        await client.delete(ns_path("credentials", "b"))
        assert summary(await watch.next()) == ("DELETED", "b")


async def test_resume_from_resource_version(live: LiveServer, client: httpx.AsyncClient) -> None:
    created = (await client.post(ns_path("credentials"), json=credential("a"))).json()
    since = created["metadata"]["resourceVersion"]
    await client.patch(ns_path("credentials", "a"), json={"spec": {"description": "x"}})
    await client.delete(ns_path("credentials", "a"))
    async with watching(live.url, client, ns_path("credentials"), resourceVersion=since) as watch:
        events = [summary(await watch.next()), summary(await watch.next())]
    assert events == [("MODIFIED", "a"), ("DELETED", "a")]


async def test_label_selector_filters_events(live: LiveServer, client: httpx.AsyncClient) -> None:
    await client.post(ns_path("credentials"), json=credential("prod-0", env="prod"))
    await client.post(ns_path("credentials"), json=credential("dev-0", env="dev"))
    async with watching(
        live.url, client, ns_path("credentials"), labelSelector="env=prod"
    ) as watch:
        assert summary(await watch.next()) == ("ADDED", "prod-0")
        await client.post(ns_path("credentials"), json=credential("dev-1", env="dev"))
        await client.post(ns_path("credentials"), json=credential("prod-1", env="prod"))
        assert summary(await watch.next()) == ("ADDED", "prod-1")
        # Relabelled out of the selection: this watcher sees it go.
        relabel = {"metadata": {"labels": {"env": "dev"}}}
        await client.patch(ns_path("credentials", "prod-0"), json=relabel)
        assert summary(await watch.next()) == ("DELETED", "prod-0")


async def test_namespace_and_cross_namespace_watch(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    await client.post(f"{P}/namespaces", json={"metadata": {"name": "team-b"}})
    async with (
        watching(live.url, client, ns_path("credentials")) as mine,
        watching(live.url, client, f"{P}/credentials") as everywhere,
    ):
        await client.post(ns_path("credentials", ns="team-b"), json=credential("theirs"))
        await client.post(ns_path("credentials"), json=credential("ours"))
        assert summary(await mine.next()) == ("ADDED", "ours")
        assert summary(await everywhere.next()) == ("ADDED", "theirs")
        assert summary(await everywhere.next()) == ("ADDED", "ours")


async def test_timeout_seconds_ends_the_stream(live: LiveServer, client: httpx.AsyncClient) -> None:
    await client.post(ns_path("credentials"), json=credential("a"))
    async with watching(live.url, client, ns_path("credentials"), timeoutSeconds="1") as watch:
        events = await watch.rest()
    assert [summary(e) for e in events if e["type"] != "BOOKMARK"] == [("ADDED", "a")]


async def test_bookmarks_when_idle(make_app: Any, client: httpx.AsyncClient) -> None:
    server = LiveServer(make_app(bookmark_seconds=0.2))
    await server.start()
    try:
        created = (await client.post(ns_path("credentials"), json=credential("a"))).json()
        async with watching(server.url, client, ns_path("credentials")) as watch:
            assert summary(await watch.next()) == ("ADDED", "a")
            bookmark = await watch.next(bookmarks=True)
        assert bookmark["type"] == "BOOKMARK"
        assert bookmark["object"]["kind"] == "Credential"
        version = int(bookmark["object"]["metadata"]["resourceVersion"])
        assert version >= int(created["metadata"]["resourceVersion"])
    finally:
        await server.stop()


async def test_too_old_resource_version_is_an_error_event(
    live: LiveServer, client: httpx.AsyncClient, database_url: Any
) -> None:
    for name in ("a", "b", "c"):
        await client.post(ns_path("credentials"), json=credential(name))
    compactor = await database_url.open(feed_retention=0.0)
    await asyncio.sleep(0.05)
    await compactor.compact()
    async with watching(live.url, client, ns_path("credentials"), resourceVersion="1") as watch:
        events = await watch.rest()
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status"
    assert status["code"] == 410
    assert status["reason"] == "Expired"


async def test_stream_ends_when_the_client_disconnects(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    await client.post(ns_path("credentials"), json=credential("a"))
    async with watching(live.url, client, ns_path("credentials")) as watch:
        assert summary(await watch.next()) == ("ADDED", "a")
        assert live.running_requests() == 1
    async with asyncio.timeout(DEADLINE):
        while True:
            if not live.running_requests():
                return
            await asyncio.sleep(0.05)


async def test_watch_through_asgi_transport_honours_timeout(client: httpx.AsyncClient) -> None:
    """Through ASGITransport (which buffers the response) a timed watch still answers."""
    await client.post(ns_path("credentials"), json=credential("a"))
    response = await client.get(
        ns_path("credentials"), params={"watch": "1", "timeoutSeconds": "1"}
    )
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [summary(e) for e in lines] == [("ADDED", "a")]
