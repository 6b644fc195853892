"""Requests the client sends and how it reads answers, over httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orbit.api import v1alpha1
from orbit.client import OrbitClient, resolve_server

P = "/apis/orbit.k8or.io/v1alpha1"


class Recorder:
    """A MockTransport handler that records requests and answers from a function."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def client(self) -> OrbitClient:
        return OrbitClient("http://orbit.test", transport=httpx.MockTransport(self))


def cluster(name: str = "dev", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "ClusterDeployment",
        "metadata": {"name": name, "namespace": "default", **meta},
        "spec": {"template": "t", "credential": "c", "config": {"workers": 1}},
        "status": {"phase": "Ready"},
    }


def test_server_comes_from_the_argument_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ORBIT_SERVER", raising=False)
    assert resolve_server() == "http://127.0.0.1:8420"
    monkeypatch.setenv("ORBIT_SERVER", "http://orbit.example:9000/")
    assert resolve_server() == "http://orbit.example:9000"
    assert resolve_server("10.0.0.1:8420") == "http://10.0.0.1:8420"
    assert OrbitClient().server == "http://orbit.example:9000"


def test_get_is_typed_and_uses_the_namespaced_path() -> None:
    rec = Recorder(lambda _: httpx.Response(200, json=cluster()))
    obj = rec.client().get(v1alpha1.ClusterDeployment, "dev", namespace="team")
    assert isinstance(obj, v1alpha1.ClusterDeployment)
    assert obj.status.phase is v1alpha1.Phase.READY
    assert rec.requests[0].url.path == f"{P}/namespaces/team/clusterdeployments/dev"


def test_cluster_scoped_kinds_ignore_the_namespace() -> None:
    ns = {"kind": "Namespace", "apiVersion": v1alpha1.API_VERSION, "metadata": {"name": "team"}}
    rec = Recorder(lambda _: httpx.Response(200, json=ns))
    rec.client().get(v1alpha1.Namespace, "team")
    assert rec.requests[0].url.path == f"{P}/namespaces/team"


def test_list_sends_query_and_reads_the_page() -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        body = {
            "kind": "ClusterDeploymentList",
            "metadata": {"resourceVersion": "42", "continue": "tok"},
            "items": [cluster("a"), cluster("b")],
        }
        return httpx.Response(200, json=body)

    rec = Recorder(answer)
    page = rec.client().list(
        v1alpha1.ClusterDeployment, namespace="default", selector="env=dev", limit=2
    )
    assert [c.metadata.name for c in page.items] == ["a", "b"]
    assert (page.revision, page.continue_token) == ("42", "tok")
    url = rec.requests[0].url
    assert url.path == f"{P}/namespaces/default/clusterdeployments"
    assert dict(url.params) == {"labelSelector": "env=dev", "limit": "2"}


def test_list_without_namespace_lists_every_namespace() -> None:
    rec = Recorder(lambda _: httpx.Response(200, json={"metadata": {}, "items": []}))
    rec.client().list(v1alpha1.Credential)
    assert rec.requests[0].url.path == f"{P}/credentials"


def test_iter_all_and_list_all_follow_continue_tokens() -> None:
    pages = {
        None: ({"resourceVersion": "7", "continue": "p2"}, ["a", "b"]),
        "p2": ({"resourceVersion": "9", "continue": "p3"}, ["c"]),
        "p3": ({"resourceVersion": "9"}, ["d"]),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        meta, names = pages[request.url.params.get("continue")]
        return httpx.Response(200, json={"metadata": meta, "items": [cluster(n) for n in names]})

    rec = Recorder(answer)
    client = rec.client()
    assert [c.metadata.name for c in client.iter_all(v1alpha1.ClusterDeployment, limit=2)] == [
        "a",
        "b",
        "c",
        "d",
    ]
    page = client.list_all(v1alpha1.ClusterDeployment)
    assert [c.metadata.name for c in page.items] == ["a", "b", "c", "d"]
    assert page.revision == "7"  # the first page's: a watch from there misses nothing
    assert page.continue_token is None


def test_create_posts_to_the_collection_without_status() -> None:
    rec = Recorder(lambda r: httpx.Response(201, content=r.content))
    obj = v1alpha1.ClusterDeployment.model_validate(cluster())
    created = rec.client().create(obj)
    request = rec.requests[0]
    assert (request.method, request.url.path) == (
        "POST",
        f"{P}/namespaces/default/clusterdeployments",
    )
    sent = json.loads(request.content)
    assert "status" not in sent
    assert sent["spec"]["config"] == {"workers": 1}
    assert created.metadata.name == "dev"


def test_patch_is_a_merge_patch() -> None:
    rec = Recorder(lambda _: httpx.Response(200, json=cluster()))
    rec.client().patch(v1alpha1.ClusterDeployment, "dev", {"spec": {"config": {"workers": 3}}})
    request = rec.requests[0]
    assert request.method == "PATCH"
    assert request.headers["content-type"] == "application/merge-patch+json"
    assert json.loads(request.content) == {"spec": {"config": {"workers": 3}}}


def test_patch_status_targets_the_subresource() -> None:
    rec = Recorder(lambda _: httpx.Response(200, json=cluster()))
    rec.client().patch_status(v1alpha1.ClusterDeployment, "dev", {"status": {"phase": "Ready"}})
    assert rec.requests[0].url.path == f"{P}/namespaces/default/clusterdeployments/dev/status"


def test_delete_returns_the_last_state_or_none() -> None:
    rec = Recorder(lambda _: httpx.Response(200, json=cluster()))
    last = rec.client().delete(v1alpha1.ClusterDeployment, "dev")
    assert last is not None
    assert last.metadata.name == "dev"
    assert rec.requests[0].method == "DELETE"

    bare = Recorder(lambda _: httpx.Response(200, json={"kind": "Status", "status": "Success"}))
    assert bare.client().delete(v1alpha1.ClusterDeployment, "dev") is None

    gone = Recorder(lambda _: httpx.Response(404, json={"kind": "Status", "reason": "NotFound"}))
    assert gone.client().delete(v1alpha1.ClusterDeployment, "dev", missing_ok=True) is None


def test_health() -> None:
    client = Recorder(lambda _: httpx.Response(200, text="ok")).client()
    assert client.healthz() == "ok"
    assert client.readyz() == "ok"
