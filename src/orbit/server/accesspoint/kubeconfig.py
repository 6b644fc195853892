"""The kubeconfig ``orbit kubeconfig CLUSTER`` hands out: the AccessPoint with the caller's token.

One cluster, one user, one context. The cluster's server is
``{AccessPoint URL}/clusters/{namespace}/{name}/proxy`` (with the certificate authority of
Orbit's HTTPS listener when it is self-signed); the user is the caller, with the very token they
asked with. So whatever kubectl does with it, it does as the caller, under the caller's roles
and the token's scopes and expiry; revoking the token revokes the kubeconfig. The cluster's own
admin credential is never in it.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml


def render(
    *, base_url: str, namespace: str, name: str, user: str, token: str, ca_pem: str | None
) -> bytes:
    """The kubeconfig document (YAML)."""
    cluster_name = f"orbit-{namespace}-{name}"
    user_name = f"{user}@{cluster_name}"
    server: dict[str, Any] = {"server": f"{base_url.rstrip('/')}/clusters/{namespace}/{name}/proxy"}
    if ca_pem:
        server["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": server}],
        "users": [{"name": user_name, "user": {"token": token}}],
        "contexts": [
            {"name": cluster_name, "context": {"cluster": cluster_name, "user": user_name}}
        ],
        "current-context": cluster_name,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False).encode()
