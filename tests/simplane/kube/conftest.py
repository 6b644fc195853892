"""A simulated plane behind a real uvicorn (HTTPS on 127.0.0.1, in the test's loop), with
helpers to run the real kubectl and to build lightkube clients from the plane's kubeconfigs.

HTTPS because kubectl sends bearer tokens over TLS only; the certificate is self-signed by the
``openssl`` binary once per session and handed to the plane as ``endpoint_ca``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from lightkube import AsyncClient, KubeConfig

from orbit.simplane import SimClusterSpec, SimPlane, SimPlaneSettings
from orbit.simplane.api import create_router

from ..conftest import FakeClock

KUBECTL = "/usr/bin/kubectl"
POD_LATENCY = 5.0


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path

    @property
    def pem(self) -> str:
        return self.cert.read_text()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make the test server's certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return Tls(cert, key)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def yaml(self) -> Any:
        return yaml.safe_load(self.out)


class Served:
    """One plane served over HTTPS; ``reopen`` closes and reopens it on the same database."""

    def __init__(
        self, settings: SimPlaneSettings, tls: Tls, tmp: Path, sock: socket.socket
    ) -> None:
        self.settings = settings
        self._sock: socket.socket | None = sock
        self.tls = tls
        self.tmp = tmp
        self.plane: SimPlane
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.plane = await SimPlane.open(self.settings)
        app = FastAPI()
        app.include_router(create_router(self.plane))
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            ssl_certfile=str(self.tls.cert),
            ssl_keyfile=str(self.tls.key),
            timeout_graceful_shutdown=2,
        )
        sock, self._sock = self._sock or _bind(self.port), None
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        async with asyncio.timeout(30):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.plane.close()

    async def reopen(self) -> None:
        await self.stop()
        await self.start()

    @property
    def port(self) -> int:
        return int(self.settings.endpoint_base.split(":")[2].split("/")[0])

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}/simplane/v1/clusters"

    async def cluster(self, uid: str = "uid-1", **changes: Any) -> str:
        values: dict[str, Any] = {
            "uid": uid,
            "namespace": "team-a",
            "name": f"c-{uid}",
            "kubernetes_version": "v1.32.3+k3s1",
            "worker_count": 2,
        }
        values.update(changes)
        await self.plane.ensure_cluster(SimClusterSpec(**values))
        return uid

    async def kubeconfig(self, uid: str = "uid-1") -> Path:
        path = self.tmp / f"kubeconfig-{uid}"
        path.write_bytes(await self.plane.kubeconfig(uid))
        return path

    async def kubectl(self, *args: str, uid: str = "uid-1", stdin: str | None = None) -> Result:
        """Run the real kubectl (without blocking the loop the server runs in)."""
        config = await self.kubeconfig(uid)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin"),
            "HOME": str(self.tmp),
            "KUBECONFIG": str(config),
        }
        proc = await asyncio.create_subprocess_exec(
            KUBECTL,
            "--cache-dir",
            str(self.tmp / "kube-cache"),
            *args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        async with asyncio.timeout(120):
            out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())

    async def lightkube(self, uid: str = "uid-1") -> AsyncClient:
        config = KubeConfig.from_file(await self.kubeconfig(uid))
        return AsyncClient(config, trust_env=False)

    def http(self) -> httpx.AsyncClient:
        context = ssl.create_default_context(cafile=str(self.tls.cert))
        return httpx.AsyncClient(base_url=self.base, verify=context, timeout=30)


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


Factory = Callable[..., Any]


async def _serve(settings: SimPlaneSettings, tls: Tls, tmp: Path) -> Served:
    sock = _bind(0)  # uvicorn closes it when it stops
    port = int(sock.getsockname()[1])
    kube_settings = replace(
        settings,
        node_latency=0,
        endpoint_base=f"https://127.0.0.1:{port}/simplane/v1/clusters",
        endpoint_ca=tls.pem,
    )
    server = Served(kube_settings, tls, tmp, sock)
    await server.start()
    return server


@pytest.fixture
async def served(settings: SimPlaneSettings, tls: Tls, tmp_path: Path) -> AsyncIterator[Served]:
    """The plane (fake clock, instant nodes, POD_LATENCY fake seconds per pod) over HTTPS."""
    server = await _serve(replace(settings, pod_latency=POD_LATENCY), tls, tmp_path)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def served_live(db_path: Path, tls: Tls, tmp_path: Path) -> AsyncIterator[Served]:
    """The plane on the real clock, pods Ready half a second after they are created."""
    settings = SimPlaneSettings(database_url=str(db_path), pod_latency=0.5)
    server = await _serve(settings, tls, tmp_path)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def kubectl_binary() -> str:
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip(f"{KUBECTL} is not installed")
    return KUBECTL


__all__ = ["POD_LATENCY", "FakeClock", "Result", "Served"]
