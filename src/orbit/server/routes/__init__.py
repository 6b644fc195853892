"""HTTP routes: discovery, health, the verbs of every kind in ``v1alpha1.KINDS``, and the
dashboard's files."""

from __future__ import annotations

from fastapi import APIRouter

from orbit.api import v1alpha1
from orbit.server.routes import (
    admin,
    audit,
    dashboard,
    discovery,
    health,
    kubeconfig,
    oidc,
    proxy,
    resources,
    session,
    status,
    tokens,
)


def api_router() -> APIRouter:
    """Every route of the Orbit REST API (API.md)."""
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(discovery.router)
    router.include_router(kubeconfig.router)
    router.include_router(tokens.router)
    router.include_router(session.router)
    router.include_router(audit.router)
    router.include_router(admin.router)
    router.include_router(oidc.router)
    router.include_router(proxy.router)
    router.include_router(dashboard.router)
    for cls in v1alpha1.KINDS:
        resources.register(router, cls)
        status.register(router, cls)
    return router
