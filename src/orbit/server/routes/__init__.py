"""HTTP routes: discovery, health, and the verbs of every kind in ``v1alpha1.KINDS``."""

from __future__ import annotations

from fastapi import APIRouter

from orbit.api import v1alpha1
from orbit.server.routes import discovery, health, kubeconfig, resources, status


def api_router() -> APIRouter:
    """Every route of the Orbit REST API (API.md)."""
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(discovery.router)
    router.include_router(kubeconfig.router)
    for cls in v1alpha1.KINDS:
        resources.register(router, cls)
        status.register(router, cls)
    return router
