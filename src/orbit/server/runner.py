"""Compose and run one Orbit process: store, simulated Cluster Plane, providers, admission,
controllers and the API, started and stopped in the right order.

Start: open the store (migrations run), load the key-encryption keyring (created on first
start), open the sim plane, register providers, install the
default catalog, start the controllers, then serve. Stop (SIGINT/SIGTERM): stop serving, let the
controllers finish in-flight passes, close the sim plane and the store. A ``kill -9`` skips all
of that, which is fine: every reconcile is re-entrant and every provider call idempotent.

Roles (``Settings.role``, ``orbit server --role``): ``all`` runs everything (``orbit up``);
``api`` runs no controllers (stateless, replicate it); ``controllers`` runs no public API, only
``/healthz``, ``/readyz`` on its port. Controllers on PostgreSQL (or any ``controllers`` process)
hold shard leases (:mod:`orbit.runtime.sharding`), taken before the controllers start and
released after they stop. Every process serves the simulated clusters' Kubernetes APIs on its
own port, for every cluster: the sim plane's database is shared and kubeconfigs are resolved
at use, so a cluster stays reachable through any process alive. See docs/production.md.

Controller processes also run the lifecycle event pipeline (:mod:`orbit.webhooks`): publisher,
relay to the bus (``Settings.bus``), webhook deliveries; only the holder of shard 0 runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from orbit import bus, catalog, controllers, gitops, store, webhooks
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.config import Settings
from orbit.controllers.serviceset import cluster_clients
from orbit.crypto import Keyring
from orbit.providers.registry import ProviderRegistry
from orbit.providers.sim import SimProvider
from orbit.runtime.manager import Manager
from orbit.runtime.sharding import LeaseTable, ShardMember
from orbit.security import bootstrap
from orbit.security.oidc import OidcClient
from orbit.security.secrets import SecretVault, credential_secret
from orbit.security.tokens import TokenStore
from orbit.server.accesspoint.serving import serving as accesspoint_serving
from orbit.server.app import create_app, wire_security
from orbit.server.routes import health, metrics
from orbit.simplane import SimPlane, SimPlaneSettings, certs
from orbit.simplane.api import create_router as simplane_router

log = logging.getLogger("orbit.server")


@dataclass
class Plane:
    """The running parts of one Orbit process."""

    store: store.SqlStore
    sim: SimPlane
    providers: ProviderRegistry
    manager: Manager | None
    vault: SecretVault
    shards: ShardMember | None = None
    bus: bus.Bus | None = None

    @property
    def ready(self) -> bool:
        """The controllers (if any) listed their kinds and hold their shards' leases."""
        if self.manager is None:
            return True
        return self.manager.ready and (self.shards is None or self.shards.ready)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Plane]:
    """Open every part, start the controllers; stop and close them in reverse on exit."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        resources = await store.open_store(settings.store_url())
        stack.push_async_callback(resources.close)
        keyring = Keyring.configured(keys=settings.security.keys, key_file=settings.key_file())
        vault = SecretVault(resources, keyring)
        cert, key, ca = certs.ensure_certificate(
            settings.sim.tls_dir or settings.data_dir / "simplane-tls", hosts=(settings.host,)
        )
        sim = await SimPlane.open(
            SimPlaneSettings(
                database_url=settings.sim_url(),
                node_latency=settings.sim.node_latency,
                pod_latency=settings.sim.pod_latency,
                failure_rate=settings.sim.failure_rate,
                seed=settings.sim.seed,
                endpoint_base=f"{settings.sim_endpoint_url()}/simplane/v1/clusters",
                endpoint_ca=ca,
            )
        )
        stack.push_async_callback(sim.close)
        await stack.enter_async_context(cluster_endpoints(sim, settings, cert=cert, key=key))

        async def open_secrets(credential: v1alpha1.Credential) -> dict[str, str]:
            return await credential_secret(resources, vault, credential)

        providers = ProviderRegistry(secrets=open_secrets)
        providers.register(SimProvider(sim))
        providers.load_entry_points()
        if settings.role != "controllers":  # the API processes install the catalog
            if settings.install_catalog:
                await catalog.install(resources)
            else:
                await catalog.ensure_default_namespace(resources)
        plane = Plane(store=resources, sim=sim, providers=providers, manager=None, vault=vault)
        if settings.role != "api":
            clients = cluster_clients(providers)
            stack.push_async_callback(clients.close)
            if settings.role == "controllers" or resources.engine.dialect.name != "sqlite":
                plane.shards = ShardMember(
                    LeaseTable(
                        resources.engine,
                        shards=settings.sharding.shards,
                        lease_seconds=settings.sharding.lease_seconds,
                    )
                )
                await plane.shards.start()
                stack.push_async_callback(plane.shards.stop)  # after the controllers stop
            plane.manager = controllers.build_manager(
                resources, providers, settings, clients=clients, shards=plane.shards
            )
            gitops.add_controller(
                plane.manager,
                resources,
                vault=vault,
                providers=providers.names(),
                settings=settings,
                shards=plane.shards,
                checks=providers.settings_checks(),
            )
            plane.bus = bus.open_bus(settings.bus)
            stack.push_async_callback(plane.bus.close)  # after the manager stops
            webhooks.add_runnables(
                plane.manager,
                store=resources,
                outbox=bus.Outbox(resources.engine),
                bus=plane.bus,
                vault=vault,
                settings=settings,
                leader=_publisher_lease(plane.shards),
            )
            await plane.manager.start()
            stack.push_async_callback(plane.manager.stop)
        yield plane


def _publisher_lease(shards: ShardMember | None) -> Callable[[], bool]:
    """Exactly one process publishes lifecycle events and delivers webhooks: the holder of
    shard 0 (the one that runs the jobs over every key), or the only process."""
    return lambda: shards is None or shards.owns_shard(0)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside another: the main server handles SIGINT/SIGTERM for both."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def cluster_endpoints(
    sim: SimPlane, settings: Settings, *, cert: Path, key: Path
) -> AsyncIterator[None]:
    """Serve the simulated clusters' Kubernetes APIs over HTTPS (kubectl sends bearer tokens
    over TLS only), on their own port, as real clusters have their own endpoints. The port is
    bound with SO_REUSEPORT: several controller processes on one host, all serving the same
    simulated plane database, share it (the kernel spreads connections between them), so a
    cluster's endpoint does not depend on which process reconciled it."""
    app = FastAPI(title="Orbit simulated clusters", openapi_url=None, docs_url=None)
    app.include_router(simplane_router(sim))
    server = _EmbeddedServer(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.sim_endpoint_port(),
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            lifespan="off",
            log_level="warning",
        )
    )
    listener = _shared_listener(settings.host, settings.sim_endpoint_port())
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if task.done():
            task.result()  # the listener failed: raise its error
            raise RuntimeError("the cluster endpoint listener stopped before it started")
        await asyncio.sleep(0.02)
    log.info("Simulated cluster endpoints at %s", settings.sim_endpoint_url())
    try:
        yield
    finally:
        server.should_exit = True
        await task


def _shared_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


AdminCallback = Callable[[bootstrap.Bootstrap], None]


def build_app(settings: Settings, *, on_admin: AdminCallback | None = None) -> FastAPI:
    """The ASGI app; every part opens in its lifespan, so uvicorn owns the event loop.
    ``on_admin`` hears about the first-start admin token (``orbit up`` adds a CLI context)."""
    holder: dict[str, Plane] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(settings) as plane, accesspoint_serving(app, settings):
            holder["plane"] = plane
            app.state.plane = plane
            app.state.store = plane.store
            app.state.admission = Admission(
                plane.store,
                providers=plane.providers.names(),
                catalog_namespace=settings.security.catalog_namespace,
                checks=plane.providers.settings_checks(),
            )
            app.state.providers = plane.providers
            app.state.vault = plane.vault
            wire_security(app, plane.store)
            app.state.oidc = OidcClient.from_settings(settings.security.oidc)
            first = await bootstrap.ensure_admin(
                plane.store, TokenStore(plane.store), settings.admin_token_file()
            )
            if first.token is not None:
                log.info("Created the admin user; its token is in %s (mode 0600)", first.path)
                if on_admin is not None:
                    on_admin(first)
            log.info("Orbit is ready at %s", settings.public_url())
            yield

    async def readiness() -> bool:
        plane = holder.get("plane")
        return plane is not None and plane.ready

    if settings.role == "controllers":
        return _health_app(settings)
    return create_app(
        store=None,
        readiness=readiness,
        lifespan=lifespan,
        token_ttl_hours=settings.security.token_ttl_hours,
    )


def _health_app(settings: Settings) -> FastAPI:
    """A controllers-only process: no public API, only ``/healthz`` and ``/readyz`` (the store
    answers, the controllers listed their kinds and hold their shards)."""
    holder: dict[str, Plane] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(settings) as plane:
            holder["plane"] = plane
            app.state.plane = plane
            app.state.store = plane.store
            log.info("Orbit controllers are running (health at %s)", settings.public_url())
            yield

    async def readiness() -> bool:
        plane = holder.get("plane")
        return plane is not None and plane.ready

    app = FastAPI(title="Orbit controllers", openapi_url=None, docs_url=None, lifespan=lifespan)
    app.state.store = None
    app.state.readiness = readiness
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app


def serve(settings: Settings, *, on_admin: AdminCallback | None = None) -> None:
    """Run Orbit in the foreground until SIGINT/SIGTERM."""
    config = uvicorn.Config(
        build_app(settings, on_admin=on_admin),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        lifespan="on",
    )
    uvicorn.Server(config).run()
