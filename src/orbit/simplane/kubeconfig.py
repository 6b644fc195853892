"""Kubeconfig documents for simulated clusters: the endpoint and the cluster's bearer token.

The endpoint is served by the same process as Orbit. Over HTTPS the document carries the
certificate authority given to the plane (``SimPlaneSettings.endpoint_ca``), if any; kubectl
only sends the token over HTTPS, other clients send it over plain HTTP too.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml


def render(
    *, namespace: str, name: str, endpoint: str, token: str, ca_pem: str | None = None
) -> bytes:
    """A kubeconfig with one cluster, one user and one current context."""
    cluster = f"{namespace}-{name}"
    user = f"{cluster}-admin"
    server: dict[str, Any] = {"server": endpoint}
    if ca_pem:
        server["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": server}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False).encode()
