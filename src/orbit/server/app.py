"""``create_app``: the Orbit REST API as a FastAPI application, built from its collaborators.

The composition root (``orbit.main``) passes the store, admission, a readiness probe, extra
routers (the simulated Cluster Plane's) and a lifespan; tests pass a real store and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI

from orbit.server import errors
from orbit.server.deps import Admission, NoAdmission, Readiness
from orbit.server.routes import api_router
from orbit.store.base import ResourceStore


def create_app(
    *,
    store: ResourceStore | None,
    admission: Admission | None = None,
    readiness: Readiness | None = None,
    routers: Sequence[APIRouter] = (),
    lifespan: Any = None,
    title: str = "Orbit",
    version: str = "0.1.0",
    bookmark_seconds: float = 10.0,
) -> FastAPI:
    """The API application. ``store`` may be None when the lifespan opens it and sets
    ``app.state.store`` (and ``app.state.admission``); until then requests get 503.
    ``readiness`` gates /readyz (with the store's own answer); ``bookmark_seconds`` is how long
    a watch may stay silent before a BOOKMARK keep-alive."""
    app = FastAPI(
        title=title,
        version=version,
        description="Orbit: a multi-cluster Kubernetes lifecycle platform. "
        "Group/version orbit.k8or.io/v1alpha1; errors are Kubernetes Status bodies.",
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    app.state.store = store
    app.state.admission = admission or NoAdmission()
    app.state.readiness = readiness
    app.state.bookmark_seconds = bookmark_seconds
    errors.install(app)
    app.include_router(api_router())
    for router in routers:
        app.include_router(router)
    return app
