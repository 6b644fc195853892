"""Shared parts of the benchmarks: a fresh database per run, the Orbit Plane with zero simulated
latency, creating clusters and waiting for them to be Ready, percentiles, and the JSON line.

Every benchmark prints exactly one JSON object on stdout (logs go to stderr). With
``--database-url postgresql+asyncpg://user@host:port/db`` a run creates its own throwaway
database on that server (``orbit_bench_<random>``) and drops it afterwards, so runs never see
each other's rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from orbit.api import v1alpha1
from orbit.config import ControllerSettings, DeliverySettings, Settings, SimSettings
from orbit.crypto import Keyring
from orbit.runtime.manager import Manager
from orbit.server.runner import Plane, running
from orbit.simplane import certs
from orbit.store import open_store
from orbit.store.base import ResourceStore

TEMPLATE = "sim-single-1-0-0"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    first = (doc or "").strip().splitlines()[0]
    p = argparse.ArgumentParser(description=first)
    p.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server to run on (a throwaway database is created there); "
        "default: SQLite in a temporary directory",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the set-up here (SQLite files; with --database-url, the name of a kept "
        "PostgreSQL database), not in a temporary place, and reuse the clusters a run before "
        "left there (one set-up for several benchmarks)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="controller processes: 1 runs Orbit in this process; N >= 2 runs N "
        "`orbit server --role controllers` subprocesses sharing the shards (PostgreSQL only)",
    )
    return p


def check_processes(processes: int, database_url: str | None) -> None:
    """Several controller processes share a store only on PostgreSQL."""
    if processes < 1:
        raise SystemExit("--processes must be at least 1")
    if processes > 1 and not database_url:
        raise SystemExit("--processes 2 or more needs --database-url (PostgreSQL)")


@contextlib.contextmanager
def workdir(data_dir: Path | None) -> Iterator[Path]:
    """``data_dir`` (created if missing, kept afterwards) or a temporary directory."""
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        yield data_dir
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def emit(result: dict[str, Any]) -> None:
    """Print the run's one JSON object."""
    print(json.dumps(result), flush=True)


def backend(database_url: str | None) -> str:
    return "postgresql" if database_url else "sqlite"


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count()}


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def fresh_database(
    database_url: str | None, tmp: Path, *, keep: bool = False
) -> AsyncIterator[str | None]:
    """None (SQLite under ``tmp``, chosen by Settings) or a PostgreSQL database's URL: a new
    one dropped afterwards, or with ``keep`` (``--data-dir``) the one whose name ``tmp``
    records (``bench-database``), made on first use and kept."""
    if not database_url:
        yield None
        return
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit("--database-url must be a PostgreSQL URL (SQLite is the default)")
    url = url.set(drivername="postgresql+asyncpg")
    recorded = tmp / "bench-database"
    if keep and recorded.exists():
        name = recorded.read_text().strip()
    else:
        name = f"orbit_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not exists:
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        if keep:
            recorded.write_text(name + "\n")
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def kept_ports(tmp: Path) -> list[int]:
    """[API port, simulated endpoint port] of the plane set up in ``tmp``: chosen once and
    kept there, as a restarted Orbit keeps its address (a new cluster endpoint port would
    rewrite every cluster's status)."""
    kept = tmp / "bench-ports.json"
    ports = json.loads(kept.read_text()) if kept.exists() else [free_port(), free_port()]
    kept.write_text(json.dumps(ports))
    return [int(p) for p in ports]


def plane_settings(
    tmp: Path, database_url: str | None, *, ready_recheck: float = 3600.0, **extra: Any
) -> Settings:
    """The Orbit Plane with zero node and pod latency: pure control-plane cost, on the ports
    kept in ``tmp`` (:func:`kept_ports`)."""
    ports = kept_ports(tmp)
    return Settings(
        data_dir=tmp,
        database_url=database_url,
        port=ports[0],
        sim=SimSettings(node_latency=0, pod_latency=0, endpoint_port=ports[1]),
        controllers=ControllerSettings(workers=16, poll_interval=0.05, ready_recheck=ready_recheck),
        delivery=DeliverySettings(drift_interval=3600),
        **extra,
    )


@contextlib.asynccontextmanager
async def orbit_processes(
    roles: list[str],
    database_url: str,
    tmp: Path,
    *,
    sim_database_url: str,
    ready_recheck: float = 3600.0,
) -> AsyncIterator[list[tuple[subprocess.Popen[bytes], int]]]:
    """One ``orbit server --role ROLE`` process per role on one store and sim plane database,
    zero simulated latency, each in its own data dir under ``tmp`` (``ROLE-INDEX``); yields
    (process, port) once every one answers ``/readyz`` (listed and holding its shards). As
    production runs them, they share the keyring (and the admin token file, ``tmp/admin.token``,
    written by the first ``api`` process on a new store), and the controllers share the clusters'
    endpoint port (the one kept in ``tmp``, so a fleet set up before keeps its endpoints) and
    its certificate (docs/production.md). SIGTERM on exit."""
    key_file = tmp / "keys.json"
    Keyring.load(key_file)  # made here once, not raced for by the processes
    tls_dir = tmp / "simplane-tls"
    certs.ensure_certificate(tls_dir, hosts=("127.0.0.1",))
    endpoint_port = kept_ports(tmp)[1]
    procs: list[tuple[subprocess.Popen[bytes], int]] = []
    for i, role in enumerate(roles):
        port = free_port()
        env = dict(
            os.environ,
            ORBIT_SIM__NODE_LATENCY="0",
            ORBIT_SIM__POD_LATENCY="0",
            ORBIT_SIM__DATABASE_URL=sim_database_url,
            ORBIT_SIM__ENDPOINT_PORT=str(endpoint_port if role == "controllers" else free_port()),
            ORBIT_SIM__TLS_DIR=str(tls_dir),
            ORBIT_SECURITY__KEY_FILE=str(key_file),
            ORBIT_SECURITY__ADMIN_TOKEN_FILE=str(tmp / "admin.token"),
            ORBIT_CONTROLLERS__POLL_INTERVAL="0.05",
            ORBIT_CONTROLLERS__READY_RECHECK=str(ready_recheck),
            ORBIT_DELIVERY__DRIFT_INTERVAL="3600",
            ORBIT_LOG_LEVEL="WARNING",
        )
        cmd = [sys.executable, "-m", "orbit.main", "server", "--role", role]
        cmd += ["--database-url", database_url, "--data-dir", str(tmp / f"{role}-{i}")]
        cmd += ["--port", str(port)]
        # Starting a process does not block; the processes outlive this coroutine's awaits.
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)  # noqa: ASYNC220
        procs.append((proc, port))
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            deadline = time.monotonic() + 300
            for proc, port in procs:
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"orbit server on port {port} exited ({proc.returncode})"
                        )
                    if time.monotonic() > deadline:
                        raise TimeoutError("Orbit processes not ready in 300 s")
                    await asyncio.sleep(0.2)
        yield procs
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def scrape(http: httpx.AsyncClient, port: int) -> dict[tuple[str, str], float]:
    """A process's ``/metrics``: (sample name, controller label or "") -> value."""
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return {
        (sample.name, sample.labels.get("controller", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def processes_steady(
    ports: list[int],
    *,
    cluster_passes: int = 0,
    shards: int = 16,
    timeout: float = 3600.0,  # noqa: ASYNC109 (a bound on the wait, not a deadline)
) -> None:
    """:func:`steady` for controller processes, read from their ``/metrics``: every one is
    ready and holds some of the ``shards`` (all of them held), their cluster passes add up to
    ``cluster_passes``, and every work queue is empty with nothing in flight."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            found = [await scrape(http, port) for port in ports]
            held = [m.get(("orbit_shards_held", ""), 0) for m in found]
            passes = sum(
                m.get(("orbit_controller_reconciles_total", "clusterdeployment"), 0) for m in found
            )
            idle = all(
                value == 0
                for m in found
                for (name, _), value in m.items()
                if name in ("orbit_controller_queue_depth", "orbit_controller_in_flight")
            )
            ready = all(m.get(("orbit_controllers_ready", ""), 0) == 1 for m in found)
            if ready and idle and all(held) and sum(held) == shards and passes >= cluster_passes:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the processes not steady within {timeout:.0f} s")
            await asyncio.sleep(0.25)


async def postgres_fleet(url: str, tmp: Path, clusters: int) -> int:
    """At least ``clusters`` Ready clusters in the store at ``url`` (its simulated plane in the
    same database, as the controller processes share it), brought up by a plane in this
    process without health checks (the set-up is not measured) unless a run before left
    them; how many there are."""
    if (found := await ready_count(url)) >= clusters:
        return found
    setup = plane_settings(tmp, url, ready_recheck=3600.0)
    setup = setup.model_copy(update={"sim": setup.sim.model_copy(update={"database_url": url})})
    async with running(setup) as plane:
        created, _ = await create_ready_clusters(plane.store, clusters)
    return len(created)


async def ready_count(store_url: str) -> int:
    """How many ClusterDeployments in ``default`` are Ready in the store at ``store_url``."""
    store = await open_store(store_url)
    try:
        items = (await store.list(v1alpha1.ClusterDeployment, "default")).items
        return sum(c.status.phase == v1alpha1.Phase.READY for c in items)
    finally:
        await store.close()


def cluster(name: str, labels: dict[str, str] | None = None) -> v1alpha1.ClusterDeployment:
    return v1alpha1.ClusterDeployment(
        metadata=v1alpha1.ObjectMeta(name=name, namespace="default", labels=labels or {}),
        spec=v1alpha1.ClusterDeploymentSpec(
            template=TEMPLATE, credential="sim", config={"workers": 1}
        ),
    )


class ReadyWatch:
    """Follows the change feed from now and notes when each ClusterDeployment is first Ready."""

    def __init__(self, store: ResourceStore, since: int) -> None:
        self.ready: dict[str, float] = {}
        self._store = store
        self._since = since
        self._want: set[str] | None = None
        self._done = asyncio.Event()
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        kinds = (v1alpha1.ClusterDeployment,)
        async for event in self._store.watch(kinds, since=self._since):
            obj = event.object
            name = obj.metadata.name
            if (
                isinstance(obj, v1alpha1.ClusterDeployment)
                and name not in self.ready
                and obj.status.phase == v1alpha1.Phase.READY
            ):
                self.ready[name] = time.perf_counter()
                if self._want is not None and self._want <= self.ready.keys():
                    self._done.set()

    # A bound on the wait for Ready, not a deadline for the call.
    async def wait(self, names: Iterable[str], timeout: float) -> None:  # noqa: ASYNC109
        """Until every one of ``names`` was seen Ready (TimeoutError after ``timeout`` s)."""
        self._want = set(names)
        if self._want <= self.ready.keys():
            self._done.set()
        try:
            async with asyncio.timeout(timeout):
                await self._done.wait()
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def create_ready_clusters(
    store: ResourceStore,
    count: int,
    *,
    prefix: str = "bench",
    timeout: float = 3600.0,  # noqa: ASYNC109 (a bound on the wait for Ready, as above)
) -> tuple[dict[str, float], dict[str, float]]:
    """Create ``count`` clusters one after another (but those a run before left) and wait
    until all are Ready; returns (created, ready) perf_counter stamps by name, the clusters
    that were Ready already stamped at the call."""
    watch = ReadyWatch(store, await store.revision())
    now = time.perf_counter()
    created: dict[str, float] = {}
    for old in (await store.list(v1alpha1.ClusterDeployment, "default")).items:
        created[old.metadata.name] = now
        if old.status.phase == v1alpha1.Phase.READY:
            watch.ready[old.metadata.name] = now
    for i in range(count):
        name = f"{prefix}-{i:05d}"
        if name not in created:
            created[name] = time.perf_counter()
            await store.create(cluster(name))
    await watch.wait(created, timeout)
    return created, watch.ready


async def steady(
    manager: Manager,
    *,
    cluster_passes: int = 0,
    timeout: float = 3600.0,  # noqa: ASYNC109 (a bound on the wait, not a deadline)
) -> None:
    """Until every controller has listed its kind, the ClusterDeployment controller has made
    ``cluster_passes`` passes, and every work queue is empty with nothing in flight."""
    lifecycle = next(c for c in manager.controllers if c.name == "clusterdeployment")
    deadline = time.monotonic() + timeout
    while True:
        stats = [c.stats for c in manager.controllers]
        idle = all(s.queue_depth == 0 and s.in_flight == 0 for s in stats)
        if manager.ready and idle and lifecycle.stats.reconciles >= cluster_passes:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no steady state within {timeout:.0f} s")
        await asyncio.sleep(0.01)


def rss_and_cpu(pid: int | None = None) -> tuple[int, float]:
    """(resident bytes, CPU seconds user+system) of a process (default: this one)."""
    import psutil

    proc = psutil.Process(pid)
    times = proc.cpu_times()
    return proc.memory_info().rss, times.user + times.system


@dataclasses.dataclass(frozen=True)
class Served:
    """The Orbit process ``serving`` runs: its parts, the API's base URL and an admin token."""

    plane: Plane
    base: str
    token: str


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Served]:
    """The whole Orbit process (API, controllers, sim plane) as ``orbit up`` runs it, served
    by uvicorn in this event loop."""
    import uvicorn

    from orbit.server.runner import build_app

    app = build_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=settings.port, lifespan="on", log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 120
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the API server stopped before it started")
        if time.monotonic() > deadline:
            raise TimeoutError("the API server did not start in 120 s")
        await asyncio.sleep(0.05)
    token = settings.admin_token_file().read_text().strip()
    try:
        yield Served(app.state.plane, f"http://127.0.0.1:{settings.port}", token)
    finally:
        server.should_exit = True
        await task
