"""Manifests the CLI tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from orbit.api import v1alpha1
from orbit.client import OrbitClient


def template(name: str = "sim-small", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "sim",
        "version": "1.0.0",
        "kubernetesVersion": "v1.30.2",
        "parameters": {
            "type": "object",
            "properties": {
                "workers": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                "size": {"type": "string", "default": "small"},
                "extra": {"type": "object"},
            },
        },
        "cluster": {
            "controlPlane": {"count": 1},
            "workers": {"count": "{{ workers }}", "machineSize": "{{ size }}"},
        },
    }
    body.update(spec)
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "ClusterTemplate",
        "metadata": {"name": name},
        "spec": body,
    }


def credential(name: str = "sim-creds", provider: str = "sim") -> dict[str, Any]:
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "Credential",
        "metadata": {"name": name},
        "spec": {"provider": provider},
    }


def cluster(
    name: str = "dev",
    *,
    template: str = "sim-small",
    credential: str = "sim-creds",
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    **config: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": "ClusterDeployment",
        "metadata": meta,
        "spec": {"template": template, "credential": credential, "config": config},
    }


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": v1alpha1.API_VERSION, "kind": "Namespace", "metadata": {"name": name}}


def write_yaml(path: Path, *docs: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def setup(client: OrbitClient, *docs: dict[str, Any], ns: str = "default") -> None:
    """The usual world: the sim template and credential, then ``docs``."""
    for doc in (template(), credential(), *docs):
        client.apply(doc, namespace=ns)


def set_status(
    client: OrbitClient, name: str, *, namespace: str = "default", **status: Any
) -> None:
    """Write a cluster's status as a controller would, observing its current generation."""
    obj = client.get(v1alpha1.ClusterDeployment, name, namespace=namespace)
    body = {"observedGeneration": obj.metadata.generation, **status}
    client.patch_status(v1alpha1.ClusterDeployment, name, {"status": body}, namespace=namespace)
