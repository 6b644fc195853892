"""Helpers for runtime tests: bounded polling, objects, a recording reconciler, store faults."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from orbit import errors
from orbit.api import v1alpha1
from orbit.runtime import Request, Result
from orbit.store import ResourceStore, WatchEvent

DEADLINE = 20.0


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], *, within: float = DEADLINE, what: str = ""
) -> None:
    """Poll ``check`` until it is true; fail after ``within`` seconds (never a timing assert)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s: {what or check}")
        await asyncio.sleep(0.01)


async def make_namespace(store: ResourceStore, name: str = "team-a") -> v1alpha1.Namespace:
    return await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=name)))


def credential(name: str, namespace: str = "team-a", description: str = "") -> v1alpha1.Credential:
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name=name, namespace=namespace),
        spec=v1alpha1.CredentialSpec(provider="sim", description=description),
    )


def request(name: str, namespace: str = "team-a") -> Request:
    return Request("Credential", namespace, name)


class Recorder:
    """A level-based reconciler that re-reads the object and records what it saw.

    ``seen`` holds (request, description or None when the object is gone). ``behave`` may
    replace the outcome per call: it gets the request and the call count for that request.
    """

    def __init__(
        self,
        store: ResourceStore,
        behave: Callable[[Request, int], Awaitable[Result]] | None = None,
    ) -> None:
        self.store = store
        self.behave = behave
        self.seen: list[tuple[Request, str | None]] = []
        self.calls: dict[Request, int] = {}

    async def reconcile(self, request: Request) -> Result:
        self.calls[request] = self.calls.get(request, 0) + 1
        try:
            obj = await self.store.get(v1alpha1.Credential, request.namespace, request.name)
            self.seen.append((request, obj.spec.description))
        except errors.NotFound:
            self.seen.append((request, None))
        if self.behave is not None:
            return await self.behave(request, self.calls[request])
        return Result()

    def count(self, req: Request) -> int:
        return self.calls.get(req, 0)

    def last(self, req: Request) -> str | None:
        return [desc for r, desc in self.seen if r == req][-1]


class FaultyStore:
    """The real store with outside-world faults injected: a database that is unreachable for
    the first ``list_failures`` lists, and a change feed that stalls once (a partition) until
    ``release`` is set."""

    def __init__(self, store: ResourceStore, *, list_failures: int = 0, stall_watch: bool = False):
        self._store = store
        self.list_failures = list_failures
        self.list_calls = 0
        self._stall = stall_watch
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def list(self, *args: Any, **kwargs: Any) -> Any:
        self.list_calls += 1
        if self.list_calls <= self.list_failures:
            raise errors.Unavailable("database unreachable (injected)")
        return await self._store.list(*args, **kwargs)

    async def watch(self, *args: Any, **kwargs: Any) -> AsyncIterator[WatchEvent]:
        if self._stall:
            self._stall = False
            self.stalled.set()
            await self.release.wait()
        async for event in self._store.watch(*args, **kwargs):
            yield event
