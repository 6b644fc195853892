"""AccessPoint: each cluster's Kubernetes API, reachable through Orbit with Orbit identities.

``/clusters/{namespace}/{name}/proxy/...`` (:mod:`orbit.server.routes.proxy`) authenticates the
caller's Orbit token, authorizes ``clusterdeployments/proxy:<verb>`` in the cluster's namespace
(:mod:`.verbs`), and forwards the request with the cluster's own admin credential
(:mod:`.upstreams`, :mod:`.relay`), which never leaves Orbit. ``orbit kubeconfig`` hands out a
kubeconfig pointing there with the caller's own token (:mod:`.kubeconfig`). kubectl sends
tokens over TLS only, so Orbit also serves its API over HTTPS (:mod:`.serving`).

:class:`AccessPoint` is the running state, on ``app.state.access_point``: where kubeconfigs
point, the pool of cluster clients, and the limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI

from orbit.server.accesspoint.upstreams import Upstreams

MAX_BODY = 16 * 1024 * 1024


@dataclass
class AccessPoint:
    """What the AccessPoint routes use (``app.state.access_point``).

    ``url``: the base URL kubeconfigs point at (HTTPS; None: the request's own base URL), with
    ``ca_pem`` the certificate authority to trust there (None: publicly trusted).
    ``watch_timeout``: the longest a proxied watch or log stream stays open (seconds)."""

    upstreams: Upstreams = field(default_factory=Upstreams)
    url: str | None = None
    ca_pem: str | None = None
    watch_timeout: float = 1800.0
    catalog_namespace: str = "default"
    max_body: int = MAX_BODY

    async def close(self) -> None:
        await self.upstreams.close()


def of(app: FastAPI) -> AccessPoint:
    """The app's AccessPoint state, made with defaults on first use (an app built without the
    runner, as in tests)."""
    found: AccessPoint | None = getattr(app.state, "access_point", None)
    if found is None:
        found = AccessPoint()
        app.state.access_point = found
    return found


__all__ = ["MAX_BODY", "AccessPoint", "Upstreams", "of"]
