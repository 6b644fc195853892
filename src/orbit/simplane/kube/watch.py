"""Watches (``?watch=true``) by polling: the plane keeps no event history to stream from.

A watch re-reads the objects it covers every ``POLL`` seconds and sends what changed since the
last read as ADDED, MODIFIED and DELETED events (one JSON object a line, as Kubernetes does).
Content, not resourceVersion, decides what changed, so computed statuses (a Deployment becoming
Available) are sent too. Without ``resourceVersion`` (or with "0") the first read is sent as
ADDED; with one, objects not newer than it are taken as known. The stream ends after
``timeoutSeconds`` (at most :data:`MAX_TIMEOUT`) or when the cluster is gone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

POLL = 0.5
MAX_TIMEOUT = 1800.0

Fetch = Callable[[], Awaitable[list[dict[str, Any]] | None]]


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return (str(md.get("namespace", "")), str(md.get("name", "")))


def _version(obj: dict[str, Any]) -> int:
    text = (obj.get("metadata") or {}).get("resourceVersion") or "0"
    return int(text) if str(text).isdigit() else 0


def _event(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def timeout_of(text: str | None) -> float:
    try:
        value = float(text) if text else MAX_TIMEOUT
    except ValueError:
        value = MAX_TIMEOUT
    return max(0.0, min(value, MAX_TIMEOUT))


async def stream(
    fetch: Fetch, *, since: str | None, seconds: float, poll: float = POLL
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    known: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    baseline = int(since) if since and since.isdigit() and since != "0" else None
    first = True
    while True:
        items = await fetch()
        if items is None:
            return
        current = {_key(o): o for o in items}
        for key, obj in current.items():
            text = json.dumps(obj, sort_keys=True)
            seen = known.get(key)
            known[key] = (text, obj)
            if seen is None:
                if first and baseline is not None:
                    if _version(obj) > baseline:
                        yield _event("MODIFIED", obj)
                else:
                    yield _event("ADDED", obj)
            elif seen[0] != text:
                yield _event("MODIFIED", obj)
        for key in [k for k in known if k not in current]:
            yield _event("DELETED", known.pop(key)[1])
        first = False
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        await asyncio.sleep(min(poll, remaining))
