"""Errors: Status bodies become typed errors with causes; anything else still reads well."""

from __future__ import annotations

import socket

import httpx
import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.client import (
    ApiError,
    ConnectionFailed,
    GoneError,
    InvalidError,
    NotFoundError,
    OrbitClient,
    from_status,
)


def _client(handler: httpx.MockTransport | None = None, *, response: httpx.Response) -> OrbitClient:
    return OrbitClient(
        "http://orbit.test", transport=handler or httpx.MockTransport(lambda _: response)
    )


def status(code: int, reason: str, message: str, **details: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


def test_invalid_status_keeps_code_reason_message_and_causes() -> None:
    body = status(
        422,
        "Invalid",
        'ClusterDeployment "dev" is invalid: spec.config.workers: must be <= 10',
        name="dev",
        kind="clusterdeployments",
        causes=[
            {
                "reason": "FieldValueInvalid",
                "message": "must be <= 10",
                "field": "spec.config.workers",
            }
        ],
    )
    client = _client(response=httpx.Response(422, json=body))
    with pytest.raises(InvalidError) as caught:
        client.get(v1alpha1.ClusterDeployment, "dev")
    err = caught.value
    assert isinstance(err, errors.Invalid)
    assert isinstance(err, ApiError)
    assert (err.code, err.reason, err.name, err.kind) == (
        422,
        "Invalid",
        "dev",
        "clusterdeployments",
    )
    assert err.message.startswith('ClusterDeployment "dev" is invalid')
    assert err.causes == (errors.Cause("spec.config.workers", "must be <= 10"),)


def test_not_found_is_the_domain_error_too() -> None:
    body = status(404, "NotFound", 'ClusterDeployment "x" not found in namespace "default"')
    client = _client(response=httpx.Response(404, json=body))
    with pytest.raises(errors.NotFound, match='"x" not found') as caught:
        client.get(v1alpha1.ClusterDeployment, "x")
    assert isinstance(caught.value, NotFoundError)
    assert caught.value.code == 404


def test_a_body_that_is_not_a_status_still_gives_a_readable_error() -> None:
    client = _client(response=httpx.Response(404, json={"detail": "Not Found"}))
    with pytest.raises(NotFoundError) as caught:
        client.get(v1alpha1.Credential, "c")
    assert caught.value.reason == "NotFound"
    assert "HTTP 404" in caught.value.message
    assert "Not Found" in caught.value.message


def test_an_html_error_page_becomes_an_api_error() -> None:
    page = "<html><body><h1>502 Bad Gateway</h1>\n</body></html>"
    client = _client(response=httpx.Response(502, text=page))
    with pytest.raises(ApiError) as caught:
        client.list(v1alpha1.Credential, namespace="default")
    err = caught.value
    assert (err.code, err.reason) == (502, "InternalError")
    assert "502 Bad Gateway" in err.message
    assert "\n" not in err.message


def test_an_empty_error_body() -> None:
    client = _client(response=httpx.Response(503))
    with pytest.raises(errors.Unavailable) as caught:
        client.readyz()
    assert caught.value.code == 503


def test_status_without_code_uses_the_http_code() -> None:
    err = from_status({"kind": "Status", "reason": "Expired", "message": "too old"}, code=410)
    assert isinstance(err, GoneError)
    assert isinstance(err, errors.Gone)
    assert err.code == 410


def test_connection_refused_says_what_to_do() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = OrbitClient("http://127.0.0.1:8420", transport=httpx.MockTransport(refuse))
    with pytest.raises(ConnectionFailed) as caught:
        client.get(v1alpha1.Namespace, "default")
    assert str(caught.value) == (
        "cannot reach Orbit at http://127.0.0.1:8420 (connection refused). Is it running? "
        "Start it with `orbit up`, or set --server / ORBIT_SERVER."
    )
    assert isinstance(caught.value, errors.Unavailable)


def test_a_timeout_is_a_connection_failure() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = OrbitClient("http://orbit.test", timeout=5, transport=httpx.MockTransport(slow))
    with pytest.raises(ConnectionFailed, match=r"\(no answer within 5s\)"):
        client.healthz()


def test_a_real_closed_port_is_a_connection_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        OrbitClient(f"http://127.0.0.1:{port}") as client,
        pytest.raises(ConnectionFailed) as caught,
    ):
        client.healthz()
    assert f"cannot reach Orbit at http://127.0.0.1:{port} (" in str(caught.value)
