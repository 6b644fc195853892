"""apply(): create when absent, PUT the manifest's fields over the live object, retry a
Conflict once, and say 'unchanged' when nothing differs (defaults included)."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.client import ConflictError, OrbitClient

STATUS_404 = {"kind": "Status", "reason": "NotFound", "message": "not found", "code": 404}
STATUS_409 = {"kind": "Status", "reason": "Conflict", "message": "stale", "code": 409}


def manifest(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "Credential",
        "metadata": {"name": "c", "labels": {"team": "a"}},
        "spec": {"provider": "sim", **spec},
    }


def live(rv: str = "5", **spec: Any) -> dict[str, Any]:
    """What the server stores for manifest(): defaults filled, server metadata set."""
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "Credential",
        "metadata": {
            "name": "c",
            "namespace": "default",
            "uid": "u-1",
            "labels": {"team": "a"},
            "annotations": {},
            "generation": 1,
            "resourceVersion": rv,
            "finalizers": ["keep-me"],
        },
        "spec": {"provider": "sim", "description": "", "config": {}, **spec},
        "status": {"ready": True},
    }


class FakeServer:
    """Just enough of the API for one Credential, with scripted PUT answers."""

    def __init__(self, stored: dict[str, Any] | None, put_answers: list[int] | None = None) -> None:
        self.stored = stored
        self.put_answers = put_answers or []
        self.requests: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        self.requests.append((request.method, body))
        if request.method == "GET":
            return (
                httpx.Response(200, json=self.stored)
                if self.stored
                else httpx.Response(404, json=STATUS_404)
            )
        if request.method == "POST":
            self.stored = {**body, "metadata": {**body["metadata"], "resourceVersion": "1"}}
            return httpx.Response(201, json=self.stored)
        assert request.method == "PUT"
        if self.put_answers and self.put_answers.pop(0) == 409:
            assert self.stored is not None
            self.stored = copy.deepcopy(self.stored)
            self.stored["metadata"]["resourceVersion"] = "6"
            return httpx.Response(409, json=STATUS_409)
        self.stored = {**body, "metadata": {**body["metadata"], "resourceVersion": "9"}}
        return httpx.Response(200, json=self.stored)

    def client(self) -> OrbitClient:
        return OrbitClient("http://orbit.test", transport=httpx.MockTransport(self))

    def methods(self) -> list[str]:
        return [m for m, _ in self.requests]


def test_absent_object_is_created_in_the_default_namespace() -> None:
    server = FakeServer(None)
    action, obj = server.client().apply(manifest(), namespace="team")
    assert action == "created"
    assert server.methods() == ["GET", "POST"]
    assert server.requests[1][1]["metadata"]["namespace"] == "team"
    assert isinstance(obj, v1alpha1.Credential)


def test_same_manifest_is_unchanged_even_when_it_omits_defaults() -> None:
    server = FakeServer(live())
    action, obj = server.client().apply(manifest())
    assert action == "unchanged"
    assert server.methods() == ["GET"]
    assert obj.metadata.resource_version == "5"


def test_changed_spec_is_put_over_the_live_metadata() -> None:
    server = FakeServer(live())
    doc = manifest(description="now described")
    doc["metadata"]["labels"] = {"team": "b"}
    action, _ = server.client().apply(doc)
    assert action == "configured"
    assert server.methods() == ["GET", "PUT"]
    sent = server.requests[1][1]
    assert sent["metadata"]["resourceVersion"] == "5"
    assert sent["metadata"]["uid"] == "u-1"
    assert sent["metadata"]["finalizers"] == ["keep-me"]
    assert sent["metadata"]["labels"] == {"team": "b"}
    assert sent["spec"] == {"provider": "sim", "description": "now described"}


def test_conflict_is_retried_once_on_a_fresh_read() -> None:
    server = FakeServer(live(), put_answers=[409])
    action, _ = server.client().apply(manifest(description="x"))
    assert action == "configured"
    assert server.methods() == ["GET", "PUT", "GET", "PUT"]
    assert server.requests[3][1]["metadata"]["resourceVersion"] == "6"


def test_a_second_conflict_is_raised() -> None:
    server = FakeServer(live(), put_answers=[409, 409])
    with pytest.raises(ConflictError):
        server.client().apply(manifest(description="x"))


def test_unknown_kind_names_the_known_ones() -> None:
    server = FakeServer(None)
    with pytest.raises(errors.BadRequest, match=r'unknown kind "Widget".*ClusterDeployment'):
        server.client().apply({"kind": "Widget", "metadata": {"name": "w"}})
    assert server.requests == []
