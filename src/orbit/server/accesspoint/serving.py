"""The AccessPoint in a running Orbit: its state on the app, and Orbit's API over HTTPS.

kubectl (client-go) sends no credential at all to an ``http://`` server: it applies a
kubeconfig's user (token, exec plugin, anything) only when the transport is TLS. An AccessPoint
kubeconfig carrying the caller's token must therefore point at HTTPS. ``orbit up`` serves its
API over plain HTTP on ``port`` (the CLI, the dashboard, loopback) and the same application
over HTTPS on ``access_point.https_port`` (default ``port + 2``), with a self-signed certificate
made once and kept in ``data_dir/tls`` (written into every AccessPoint kubeconfig as its
certificate authority). Behind a TLS-terminating proxy, ``access_point.url`` (and ``ca_file``
for a private CA) says where kubeconfigs point instead; ``https_port: 0`` turns the listener
off.

:func:`serving` wires ``app.state.public_url`` and ``app.state.access_point``, runs the HTTPS
listener for as long as the context is open, and on exit closes every cluster client (so open
proxied watches end) before stopping the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from orbit.config import Settings
from orbit.server.accesspoint import AccessPoint
from orbit.server.accesspoint.upstreams import Upstreams
from orbit.simplane import certs

log = logging.getLogger("orbit.server")

COMMON_NAME = "orbit-api"


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside another: the main server handles SIGINT/SIGTERM for both."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def https_listener(
    app: FastAPI, *, host: str, port: int, cert: Path, key: Path
) -> AsyncIterator[None]:
    """Serve ``app`` over HTTPS on ``host:port`` while the context is open."""
    server = _EmbeddedServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the listener failed: raise its error
            raise RuntimeError(
                f"Orbit's HTTPS listener on port {port} did not start (is the port taken? set "
                "ORBIT_ACCESS_POINT__HTTPS_PORT)"
            )
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def serving(app: FastAPI, settings: Settings) -> AsyncIterator[AccessPoint]:
    """Wire the AccessPoint into ``app`` and serve the HTTPS listener (see the module doc)."""
    options = settings.access_point
    app.state.public_url = settings.public_url()
    access = AccessPoint(
        upstreams=Upstreams(timeout=options.request_timeout),
        watch_timeout=options.watch_timeout,
        catalog_namespace=settings.security.catalog_namespace,
    )
    app.state.access_point = access
    async with contextlib.AsyncExitStack() as stack:
        https_url = settings.https_url()
        if https_url is not None:
            cert, key, pem = certs.ensure_certificate(
                settings.data_dir / "tls", hosts=(settings.host,), common_name=COMMON_NAME
            )
            await stack.enter_async_context(
                https_listener(
                    app, host=settings.host, port=settings.https_port(), cert=cert, key=key
                )
            )
            access.url, access.ca_pem = https_url, pem
            log.info("Orbit's API over HTTPS (the AccessPoint) at %s", https_url)
        if options.url:
            access.url = options.url
            access.ca_pem = options.ca_file.read_text() if options.ca_file else None
        if access.url is None or not access.url.startswith("https://"):
            log.warning(
                "AccessPoint kubeconfigs point at %s: kubectl sends no token over plain HTTP; "
                "set access_point.url to Orbit's HTTPS URL",
                access.url or app.state.public_url,
            )
        stack.push_async_callback(access.close)  # runs first: proxied streams end
        yield access
