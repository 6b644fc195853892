"""Kubeconfig documents for simulated clusters: the endpoint and the cluster's bearer token.

The endpoint is plain HTTP on the loopback interface (the simulated API is served by the same
process), so the document carries no certificate authority.
"""

from __future__ import annotations

import yaml


def render(*, namespace: str, name: str, endpoint: str, token: str) -> bytes:
    """A kubeconfig with one cluster, one user and one current context."""
    cluster = f"{namespace}-{name}"
    user = f"{cluster}-admin"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": endpoint}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False).encode()
