"""A stand-in ``k3s`` binary for the ssh provider's tests, run with the venv's Python.

``k3s --version`` prints the version baked into its wrapper (``K3S_STANDIN_VERSION``).
``k3s server`` (the first server) serves a real Kubernetes API over HTTPS on
``--bind-address``:``--https-listen-port``: Orbit's simulated Kubernetes API over one cluster in
a SQLite file under ``--data-dir``; it writes ``--write-kubeconfig`` (server
``https://127.0.0.1:<port>``, as K3s does) and ``<data-dir>/server/node-token``.
``k3s agent`` (and ``k3s server`` with ``K3S_URL``, a joining server) heartbeats to the first
server with ``K3S_TOKEN``; the server shows every heartbeating host as a Node (Ready while the
heartbeats come, with the version it reports). ``PATCH`` of a Node's ``spec.unschedulable``
cordons it, ``DELETE`` removes it, as in Kubernetes. Like the simulated API it serves, it has no
eviction subresource (404), so a drain deletes pods instead.

For the tests' eyes, ``<data-dir>/server/standin-events.log`` gets a line (a timestamp, then
what happened) when a node first heartbeats at a version (``ready <node> <version>``: from then
the API shows it Ready at that version), is cordoned (``cordon <node> <True|False>``), and when
a pod is asked to go (``evict <ns>/<pod> <status>``, ``delete-pod <ns>/<pod> <status>``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import ssl
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import select, update

from orbit.simplane import SimClusterSpec, SimPlane, SimPlaneSettings, certs, db, engine
from orbit.simplane import kubeconfig as render_kubeconfig
from orbit.simplane.kube.http import bearer
from orbit.simplane.kube.service import Request as KubeRequest

UID = "k3s"
VERSION = os.environ.get("K3S_STANDIN_VERSION", "v0.0.0+standin")
FRESH = 3.0  # seconds a heartbeat keeps a node Ready


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="k3s")
    p.add_argument("command", choices=["server", "agent"])
    p.add_argument("--data-dir", default="/var/lib/rancher/k3s")
    p.add_argument("--write-kubeconfig", default="/etc/rancher/k3s/k3s.yaml")
    p.add_argument("--https-listen-port", type=int, default=6443)
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--node-name", default=os.uname().nodename)
    p.add_argument("--server", "-s", default=os.environ.get("K3S_URL"))
    p.add_argument("--token", "-t", default=os.environ.get("K3S_TOKEN"))
    args, _unknown = p.parse_known_args(argv)  # K3s has many flags the stand-in ignores
    return args


class Registry:
    """The nodes, persisted like etcd would keep them; heartbeats only in memory."""

    def __init__(self, path: Path, events: Path) -> None:
        self.path, self.events = path, events
        self.nodes: dict[str, dict[str, Any]] = (
            json.loads(path.read_text()) if path.exists() else {}
        )
        self.seen: dict[str, float] = {}

    def save(self) -> None:
        self.path.write_text(json.dumps(self.nodes))

    def beat(self, name: str, role: str, version: str) -> None:
        node = self.nodes.get(name)
        if node is None or node["role"] != role or node["version"] != version:
            index = (
                node["index"]
                if node
                else 1 + max((n["index"] for n in self.nodes.values()), default=-1)
            )
            cordoned = node["cordoned"] if node else False
            self.nodes[name] = {
                "role": role,
                "version": version,
                "index": index,
                "cordoned": cordoned,
            }
            self.save()
            self.event(f"ready {name} {version}")
        self.seen[name] = time.time()

    def event(self, what: str) -> None:
        with self.events.open("a") as log:
            log.write(f"{time.time():.6f} {what}\n")

    def records(self) -> list[engine.Node]:
        now = time.time()
        out = []
        for name, n in sorted(self.nodes.items(), key=lambda kv: kv[1]["index"]):
            fresh = now - self.seen.get(name, 0.0) < FRESH
            status = ("draining" if n["cordoned"] else "ready") if fresh else "upgrading"
            role = "control-plane" if n["role"] == "server" else "worker"
            out.append(engine.Node(name, role, n["index"], n["version"], "small", status))
        return out


async def serve(args: argparse.Namespace) -> None:
    data = Path(args.data_dir) / "server"
    data.mkdir(parents=True, exist_ok=True)
    token_path = data / "node-token"
    if not token_path.exists():
        token_path.write_text(f"K10{secrets.token_hex(16)}::server:{secrets.token_hex(16)}\n")
        token_path.chmod(0o600)
    node_token = token_path.read_text().strip()
    cert, key, ca = certs.ensure_certificate(data / "tls", hosts=(args.bind_address,))
    port = args.https_listen_port
    plane = await SimPlane.open(
        SimPlaneSettings(
            database_url=str(data / "standin.db"), node_latency=0.0, pod_latency=0.5, endpoint_ca=ca
        )
    )
    spec = SimClusterSpec(uid=UID, namespace="kube-system", name="k3s", kubernetes_version=VERSION)
    if await plane.get_cluster(UID) is None:
        await plane.ensure_cluster(spec)
    registry = Registry(data / "standin-nodes.json", data / "standin-events.log")
    registry.beat(args.node_name, "server", VERSION)
    rec = await plane._live_record(UID)
    _write_private(
        Path(args.write_kubeconfig),
        render_kubeconfig.render(
            namespace="default",
            name="default",
            endpoint=f"https://127.0.0.1:{port}",
            token=rec.token,
            ca_pem=ca,
        ),
    )

    app = FastAPI()

    @app.put("/standin/v1/nodes/{name}")
    async def heartbeat(name: str, request: Request) -> Response:
        if bearer(request.headers.get("authorization")) != node_token:
            return JSONResponse({"message": "bad token"}, status_code=401)
        body = await request.json()
        registry.beat(name, body["role"], body["version"])
        return JSONResponse({"ok": True})

    async def authorized(request: Request) -> bool:
        return await plane.authenticate(UID, bearer(request.headers.get("authorization")) or "")

    @app.patch("/api/v1/nodes/{name}")
    async def cordon(name: str, request: Request) -> Response:
        if not await authorized(request):
            return JSONResponse({"kind": "Status", "code": 401}, status_code=401)
        if name not in registry.nodes:
            return _missing(name)
        body = await request.json()
        registry.nodes[name]["cordoned"] = bool(body.get("spec", {}).get("unschedulable"))
        registry.save()
        registry.event(f"cordon {name} {registry.nodes[name]['cordoned']}")
        await sync()
        return await kube(f"api/v1/nodes/{name}", request, method="GET")

    @app.delete("/api/v1/nodes/{name}")
    async def remove(name: str, request: Request) -> Response:
        if not await authorized(request):
            return JSONResponse({"kind": "Status", "code": 401}, status_code=401)
        if registry.nodes.pop(name, None) is None:
            return _missing(name)
        registry.save()
        await sync()
        return JSONResponse(
            {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}
        )

    @app.post("/api/v1/namespaces/{namespace}/pods/{name}/eviction")
    async def evict(namespace: str, name: str, request: Request) -> Response:
        reply = await kube(f"api/v1/namespaces/{namespace}/pods/{name}/eviction", request)
        registry.event(f"evict {namespace}/{name} {reply.status_code}")
        return reply

    @app.delete("/api/v1/namespaces/{namespace}/pods/{name}")
    async def delete_pod(namespace: str, name: str, request: Request) -> Response:
        reply = await kube(f"api/v1/namespaces/{namespace}/pods/{name}", request)
        registry.event(f"delete-pod {namespace}/{name} {reply.status_code}")
        return reply

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def anything(path: str, request: Request) -> Response:
        return await kube(path, request)

    async def kube(path: str, request: Request, method: str | None = None) -> Response:
        reply = await plane.kube.serve(
            UID,
            bearer(request.headers.get("authorization")),
            KubeRequest(
                method=method or request.method,
                path=path,
                query=request.query_params,
                headers=request.headers,
                body=b"" if method else await request.body(),
            ),
        )
        if reply.streaming:
            return StreamingResponse(
                reply.body, status_code=reply.status, media_type=reply.media_type
            )
        return Response(reply.content(), status_code=reply.status, media_type=reply.media_type)

    last: list[dict[str, Any]] = []

    async def sync() -> None:
        registry.beat(args.node_name, "server", VERSION)
        nodes = registry.records()
        rows = [n.to_json() for n in nodes]
        nonlocal last
        if rows == last:
            return
        workers = sum(1 for n in nodes if n.role == "worker")
        servers = max(1, len(nodes) - workers)
        desired = spec.model_copy(update={"control_plane_count": servers, "worker_count": workers})
        async with plane._sql.begin() as conn:
            row = (await conn.execute(select(db.clusters).where(db.clusters.c.uid == UID))).first()
            assert row is not None
            rec = db.from_row(row)
            rec.nodes, rec.desired = nodes, desired
            # Far in the future: the simulation's own node steps never start; the hosts drive.
            rec.as_of, rec.running_since = 4.0e9, rec.created_at
            values = db.to_row(rec)
            del values["uid"]
            await conn.execute(update(db.clusters).where(db.clusters.c.uid == UID).values(**values))
        last = rows

    async def loop() -> None:
        while True:
            await sync()
            await asyncio.sleep(0.3)

    import uvicorn

    await sync()
    config = uvicorn.Config(
        app,
        host=args.bind_address,
        port=port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        log_level="warning",
        lifespan="off",
    )
    ticker = asyncio.create_task(loop())
    (data / "ready").write_text("ok")
    try:
        await uvicorn.Server(config).serve()
    finally:
        ticker.cancel()


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def _missing(name: str) -> Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": "NotFound",
        "code": 404,
        "message": f'nodes "{name}" not found',
    }
    return JSONResponse(body, status_code=404)


def join(args: argparse.Namespace, role: str) -> None:
    """Heartbeat to the first server, for ever (the service's life)."""
    if not args.server or not args.token:
        sys.exit("k3s: --server/K3S_URL and --token/K3S_TOKEN are needed to join")
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # K3s pins by token hash
    url = f"{args.server.rstrip('/')}/standin/v1/nodes/{args.node_name}"
    body = json.dumps({"role": role, "version": VERSION}).encode()
    while True:
        request = urllib.request.Request(
            url, data=body, method="PUT",
            headers={"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as reply:
                reply.read()
        except OSError as err:
            print(f"k3s {role}: heartbeat failed: {err}", file=sys.stderr, flush=True)
        time.sleep(0.5)


def main() -> None:
    if sys.argv[1:2] in (["--version"], ["-v"], ["version"]):
        print(f"k3s version {VERSION} (standin)\ngo version go1.22.8")
        return
    args = parse(sys.argv[1:])
    if args.command == "agent":
        join(args, "agent")
    elif args.server:
        join(args, "server")
    else:
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
