"""Watch: NDJSON lines become typed events; BOOKMARKs vanish; ERROR raises."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.client import ApiError, GoneError, OrbitClient, parse_watch_line


def cred(name: str, rv: str) -> dict[str, Any]:
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "Credential",
        "metadata": {"name": name, "namespace": "default", "resourceVersion": rv},
        "spec": {"provider": "sim"},
    }


BOOKMARK = {
    "type": "BOOKMARK",
    "object": {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "Credential",
        "metadata": {"resourceVersion": "5"},
    },
}
EXPIRED = {
    "type": "ERROR",
    "object": {
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "reason": "Expired",
        "message": "resourceVersion 1 is too old",
        "code": 410,
    },
}


def ndjson(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def test_parse_watch_line() -> None:
    event = parse_watch_line(
        v1alpha1.Credential, json.dumps({"type": "ADDED", "object": cred("a", "3")})
    )
    assert event is not None
    assert event.type == "ADDED"
    assert isinstance(event.object, v1alpha1.Credential)
    assert event.object.metadata.resource_version == "3"
    assert parse_watch_line(v1alpha1.Credential, json.dumps(BOOKMARK)) is None
    assert parse_watch_line(v1alpha1.Credential, "   ") is None
    with pytest.raises(GoneError, match="too old"):
        parse_watch_line(v1alpha1.Credential, json.dumps(EXPIRED))


def test_watch_streams_events_and_sends_the_query() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = ndjson(
            {"type": "ADDED", "object": cred("a", "3")},
            BOOKMARK,
            {"type": "MODIFIED", "object": cred("a", "6")},
            {"type": "DELETED", "object": cred("a", "7")},
        )
        return httpx.Response(200, content=body, headers={"content-type": "application/x-ndjson"})

    client = OrbitClient("http://orbit.test", transport=httpx.MockTransport(answer))
    events = list(
        client.watch(
            v1alpha1.Credential,
            namespace="default",
            selector="env=dev",
            resource_version="2",
            timeout_seconds=30,
        )
    )
    assert [(e.type, e.object.metadata.resource_version) for e in events] == [
        ("ADDED", "3"),
        ("MODIFIED", "6"),
        ("DELETED", "7"),
    ]
    params = dict(seen[0].url.params)
    assert params == {
        "watch": "true",
        "labelSelector": "env=dev",
        "resourceVersion": "2",
        "timeoutSeconds": "30",
    }
    assert seen[0].url.path.endswith("/namespaces/default/credentials")


def test_watch_error_event_raises_after_the_events_before_it() -> None:
    body = ndjson({"type": "ADDED", "object": cred("a", "3")}, EXPIRED)
    client = OrbitClient(
        "http://orbit.test",
        transport=httpx.MockTransport(lambda _: httpx.Response(200, content=body)),
    )
    stream = client.watch(v1alpha1.Credential, resource_version="1")
    first = next(stream)
    assert first.object.metadata.name == "a"
    with pytest.raises(GoneError) as caught:
        next(stream)
    assert isinstance(caught.value, errors.Gone)
    assert caught.value.code == 410


def test_watch_refused_up_front_raises_the_status() -> None:
    status = {"kind": "Status", "reason": "BadRequest", "message": "bad labelSelector", "code": 400}
    client = OrbitClient(
        "http://orbit.test",
        transport=httpx.MockTransport(lambda _: httpx.Response(400, json=status)),
    )
    with pytest.raises(ApiError, match="bad labelSelector") as caught:
        list(client.watch(v1alpha1.Credential, selector="=="))
    assert isinstance(caught.value, errors.BadRequest)
