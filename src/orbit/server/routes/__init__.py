"""HTTP routes: discovery, health, the verbs of every kind in ``v1alpha1.KINDS``, the
dashboard's files, and the GitRepository sync hook."""

from __future__ import annotations

import functools

from fastapi import APIRouter

from orbit.api import v1alpha1
from orbit.server.routes import (
    admin,
    audit,
    dashboard,
    discovery,
    health,
    hooks,
    kubeconfig,
    metrics,
    oidc,
    proxy,
    resources,
    session,
    status,
    tokens,
)


@functools.cache
def api_router() -> APIRouter:
    """Every route of the Orbit REST API (API.md). Built once per process: FastAPI analyses
    some 150 handlers (half a second), and the routes hold no state (handlers find the
    store and the rest on ``request.app.state``), so every app shares them."""
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(metrics.router)
    router.include_router(discovery.router)
    router.include_router(kubeconfig.router)
    router.include_router(tokens.router)
    router.include_router(session.router)
    router.include_router(audit.router)
    router.include_router(admin.router)
    router.include_router(oidc.router)
    router.include_router(proxy.router)
    router.include_router(dashboard.router)
    router.include_router(hooks.router)
    for cls in v1alpha1.KINDS:
        resources.register(router, cls)
        status.register(router, cls)
    return router
