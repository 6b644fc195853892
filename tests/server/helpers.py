"""Request paths, example bodies and assertions shared by the server tests."""

from __future__ import annotations

from typing import Any

import httpx

P = "/apis/orbit.k8or.io/v1alpha1"
NS = "default"


def ns_path(plural: str, name: str | None = None, *, ns: str = NS) -> str:
    base = f"{P}/namespaces/{ns}/{plural}"
    return f"{base}/{name}" if name else base


def credential(name: str = "cred", **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"provider": "sim", "config": {"region": "local"}},
    }


def template(name: str = "k3s-1-30", *, upgrade_to: list[str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "orbit.k8or.io/v1alpha1",
        "kind": "ClusterTemplate",
        "metadata": {"name": name},
        "spec": {
            "provider": "sim",
            "version": "1.0.0",
            "kubernetesVersion": "v1.30.2",
            "cluster": {"controlPlane": {"count": 1}, "workers": {"count": "{{ workers }}"}},
            "upgradeTo": upgrade_to or [],
        },
    }


def deployment(name: str = "dev", *, workers: int = 2, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"template": "k3s-1-30", "credential": "cred", "config": {"workers": workers}},
    }


def assert_status(response: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    """Assert a Kubernetes Status error body; returns it."""
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["code"] == code
    assert body["reason"] == reason
    assert body["message"]
    return body


def cause_fields(body: dict[str, Any]) -> list[str]:
    return [c["field"] for c in body["details"].get("causes", [])]
