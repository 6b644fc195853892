"""``create_app``: the Orbit REST API as a FastAPI application, built from its collaborators.

The composition root (``orbit.main``) passes the store, admission, a readiness probe, extra
routers (the simulated Cluster Plane's) and a lifespan; tests pass a real store and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI

from orbit.api import v1alpha1
from orbit.runtime.cache import CachedStore
from orbit.security.audit import AuditLog
from orbit.security.rbac import Authorizer
from orbit.security.secrets import SecretVault
from orbit.security.tokens import TokenStore
from orbit.server import audit as audit_recorder
from orbit.server import errors
from orbit.server.deps import Admission, NoAdmission, Readiness
from orbit.server.routes import api_router
from orbit.store.sql import SqlStore


def create_app(
    *,
    store: SqlStore | None,
    admission: Admission | None = None,
    readiness: Readiness | None = None,
    routers: Sequence[APIRouter] = (),
    lifespan: Any = None,
    title: str = "Orbit",
    version: str = "0.1.0",
    bookmark_seconds: float = 10.0,
    token_ttl_hours: float = 24.0 * 90,
    vault: SecretVault | None = None,
) -> FastAPI:
    """The API application. ``store`` may be None when the lifespan opens it and sets
    ``app.state.store`` (and ``app.state.admission``); until then requests get 503.
    ``readiness`` gates /readyz (with the store's own answer); ``bookmark_seconds`` is how long
    a watch may stay silent before a BOOKMARK keep-alive.

    Every route but /healthz, /readyz and login needs an identity: API tokens are checked
    against the store (``app.state.tokens``) and permissions against its role bindings
    (``app.state.authorizer``); :func:`wire_security` sets both for a store opened later."""
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
    app.state.token_ttl_hours = token_ttl_hours
    app.state.tokens = None
    app.state.authorizer = None
    app.state.audit = None
    app.state.vault = vault  # without one, secret data is refused (503), never stored plain
    if store is not None:
        wire_security(app, store)
    errors.install(app)
    # After the error handlers: the recorder sees the final status, 500s included.
    audit_recorder.install(app)
    app.include_router(api_router())
    for router in routers:
        app.include_router(router)
    return app


def wire_security(app: FastAPI, store: SqlStore) -> None:
    """Authenticate with tokens kept in ``store``; authorize with its role bindings; audit
    every change into its hash-chained log.

    Users and role bindings are read from an informer cache fed by the change feed, so a
    request's identity and permission checks cost no database round trip but the token's
    row (a revoked token is refused at once). A change made through this process applies to
    its next request (the cache waits for the feed to pass this process's writes); one made
    through another process applies once this process's feed reader polls it (every 0.5 s,
    the store's poll interval), as a Kubernetes API server's RBAC informers do."""
    reads = CachedStore(
        store,
        (v1alpha1.User, v1alpha1.ClusterRoleBinding, v1alpha1.RoleBinding),
        read_own_writes=True,
    )
    app.state.tokens = TokenStore(store, users=reads)
    app.state.authorizer = Authorizer(reads)
    app.state.audit = AuditLog(store.engine)
