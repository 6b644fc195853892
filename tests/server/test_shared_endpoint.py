"""Two Orbit processes sharing the simulated plane's database, its endpoint port and its TLS
directory: both start (the port is bound with SO_REUSEPORT), and a cluster's kubeconfig works
on every connection whichever process the kernel hands it to."""

from __future__ import annotations

import base64
import socket
import ssl
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import yaml

from orbit.config import Settings, SimSettings
from orbit.server.runner import running
from orbit.simplane import SimClusterSpec


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_two_processes_share_the_endpoint_port_and_certificate(tmp_path: Path) -> None:
    endpoint = _port()
    sim = SimSettings(
        node_latency=0,
        pod_latency=0,
        endpoint_port=endpoint,
        database_url=f"sqlite:///{tmp_path / 'simplane.db'}",
        tls_dir=tmp_path / "simplane-tls",
    )
    async with AsyncExitStack() as stack:
        planes = [
            await stack.enter_async_context(
                running(Settings(data_dir=tmp_path / name, port=_port(), sim=sim))
            )
            for name in ("a", "b")
        ]
        spec = SimClusterSpec(
            uid="u-shared", namespace="default", name="s", kubernetes_version="v1.31.4+k3s1"
        )
        await planes[0].sim.ensure_cluster(spec)
        config = yaml.safe_load(await planes[1].sim.kubeconfig("u-shared"))
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        assert f":{endpoint}/" in cluster["server"]
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
            ca.write(base64.b64decode(cluster["certificate-authority-data"]).decode())
            ca.flush()
            context = ssl.create_default_context(cafile=ca.name)
            for _ in range(20):  # a new connection each: the kernel picks a process each time
                async with httpx.AsyncClient(verify=context) as http:
                    answer = await http.get(
                        f"{cluster['server']}/version",
                        headers={"Authorization": f"Bearer {user['token']}"},
                    )
                assert answer.status_code == 200, answer.text
