"""``?watch=true``: the change feed of one kind as newline-delimited JSON events.

Without a resourceVersion (or with "0") the stream starts with ADDED for every matching object,
then follows ``store.watch`` from the list's revision, so nothing falls between the two. The
feed is read by a pump task into a bounded queue; the response side waits on that queue with a
deadline, which gives BOOKMARK keep-alives when idle and ``timeoutSeconds`` without ever
cancelling the store's iterator mid-step. A label selector filters events too: an object that
stops matching is reported DELETED to this watcher. When the client goes away Starlette cancels
the response, and ``finally`` stops the pump (closing the store's iterator).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi.responses import StreamingResponse

from orbit import errors
from orbit.api import selectors, v1alpha1
from orbit.server.errors import error_status, status_body
from orbit.store.base import ResourceStore, WatchEvent

log = logging.getLogger(__name__)

_QUEUE_SIZE = 1000
_END = object()


def _line(event_type: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _bookmark(cls: type[v1alpha1.Resource], revision: int) -> bytes:
    obj = {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": cls.KIND,
        "metadata": {"resourceVersion": str(revision)},
    }
    return _line("BOOKMARK", obj)


def _error(exc: BaseException) -> bytes:
    if isinstance(exc, errors.OrbitError):
        return _line("ERROR", error_status(exc))
    log.error("Watch failed", exc_info=exc)
    return _line(
        "ERROR", status_body(500, "InternalError", "the watch failed; the server log has details")
    )


def parse_since(resource_version: str | None) -> int | None:
    """The revision to follow from, or None to start with the current list."""
    if resource_version in (None, "", "0"):
        return None
    try:
        since = int(resource_version)
    except ValueError:
        since = -1
    if since < 0:
        raise errors.BadRequest(
            f'resourceVersion "{resource_version}" is not a revision: use a number from a '
            "list or event, or omit it to start from the current state"
        )
    return since


def watch_response(
    store: ResourceStore,
    cls: type[v1alpha1.Resource],
    *,
    namespace: str | None,
    selector: selectors.Selector,
    since: int | None,
    timeout: float | None,
    bookmark_seconds: float,
) -> StreamingResponse:
    stream = _stream(
        store,
        cls,
        namespace=namespace,
        selector=selector,
        since=since,
        timeout_seconds=timeout,
        bookmark_seconds=bookmark_seconds,
    )
    return StreamingResponse(stream, media_type="application/json")


async def _stream(
    store: ResourceStore,
    cls: type[v1alpha1.Resource],
    *,
    namespace: str | None,
    selector: selectors.Selector,
    since: int | None,
    timeout_seconds: float | None,
    bookmark_seconds: float,
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds if timeout_seconds else None
    matching: set[tuple[str, str, str]] = set()
    if since is None:
        try:
            current = await store.list(cls, namespace, selector=selector or None)
        except Exception as exc:
            yield _error(exc)
            return
        since = current.revision
        for obj in current.items:
            matching.add(obj.key)
            yield _line("ADDED", obj.to_dict())

    queue: asyncio.Queue[WatchEvent | BaseException | object] = asyncio.Queue(_QUEUE_SIZE)
    pump = asyncio.create_task(_pump(store, cls, namespace, since, queue))
    revision = since
    try:
        while True:
            wait = bookmark_seconds
            if deadline is not None:
                wait = min(wait, deadline - loop.time())
                if wait <= 0:
                    return
            try:
                item = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if deadline is None or loop.time() < deadline:
                    yield _bookmark(cls, revision)
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                yield _error(item)
                return
            assert isinstance(item, WatchEvent)
            revision = item.revision
            line = _filter(item, selector, matching)
            if line is not None:
                yield line
    finally:
        pump.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.wait([pump], timeout=5)


async def _pump(
    store: ResourceStore,
    cls: type[v1alpha1.Resource],
    namespace: str | None,
    since: int,
    queue: asyncio.Queue[WatchEvent | BaseException | object],
) -> None:
    try:
        async for event in store.watch((cls,), namespace=namespace, since=since):
            await queue.put(event)
    except Exception as exc:
        await queue.put(exc)
    else:
        await queue.put(_END)


def _filter(
    event: WatchEvent, selector: selectors.Selector, matching: set[tuple[str, str, str]]
) -> bytes | None:
    """The line to send for ``event`` given the selector, or None to skip it."""
    obj = event.object
    if not selector:
        return _line(event.type, obj.to_dict())
    if selector.matches(obj.metadata.labels):
        if event.type == "DELETED":
            matching.discard(obj.key)
        else:
            matching.add(obj.key)
        return _line(event.type, obj.to_dict())
    if obj.key in matching:
        matching.discard(obj.key)
        return _line("DELETED", obj.to_dict())
    return None
