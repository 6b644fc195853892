"""Fixtures for production mode: fresh PostgreSQL databases, ``orbit server`` subprocesses by
role, and a private PostgreSQL instance that a test may stop and start.

Every process of one deployment shares the store's database, the sim plane's database and the
keyring (``ORBIT_SECURITY__KEY_FILE``); each has its own data dir and ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, require_postgres
from tests.e2e.conftest import free_port, kill_process, stop_process, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")
API = "/apis/orbit.k8or.io/v1alpha1"


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query on the database at ``url`` (a fresh connection) and return its rows."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn(url), timeout=10)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@dataclass
class Databases:
    """Two fresh databases on one server: the store's and the sim plane's."""

    server_url: str
    store_url: str
    sim_url: str


def create_databases(server_url: str) -> Databases:
    suffix = uuid.uuid4().hex[:12]
    store_name, sim_name = f"orbit_scale_{suffix}", f"orbit_sim_{suffix}"
    for name in (store_name, sim_name):
        sql(server_url, f'CREATE DATABASE "{name}"')
    return Databases(
        server_url, with_database(server_url, store_name), with_database(server_url, sim_name)
    )


def drop_databases(dbs: Databases) -> None:
    for url in (dbs.store_url, dbs.sim_url):
        name = make_url(url).database
        with contextlib.suppress(OSError, asyncpg.PostgresError):  # the server may be gone
            sql(dbs.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def databases() -> Iterator[Databases]:
    """Fresh store and sim databases on the shared test PostgreSQL, dropped afterwards."""
    require_postgres()
    dbs = create_databases(POSTGRES_URL)
    try:
        yield dbs
    finally:
        drop_databases(dbs)


@dataclass
class Server:
    """One ``orbit server`` process of a deployment."""

    role: str
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "orbit.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orbit.main",
                    "server",
                    "--role",
                    self.role,
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 120.0) -> None:
        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (
                f"{self.role} exited early:\n{self.log_tail()}"
            )
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=timeout, what=f"{self.role} ready", on_fail=self.log_tail)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs, no lease is released."""
        assert self.proc is not None
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return f"--- {self.role} {self.data_dir.name} ---\n" + "\n".join(
            self.log_text().splitlines()[-lines:]
        )


@dataclass
class Deployment:
    """Several ``orbit server`` processes sharing one store, one sim plane and one keyring."""

    root: Path
    dbs: Databases
    env: dict[str, str]
    servers: list[Server] = field(default_factory=list)
    clients: list[Api] = field(default_factory=list)

    def add(self, role: str, **env: str) -> Server:
        data_dir = self.root / f"{role}-{len(self.servers)}"
        data_dir.mkdir()
        server = Server(role, data_dir, {**self.env, **env})
        server.env["ORBIT_SIM__ENDPOINT_PORT"] = str(free_port())
        server.env["ORBIT_ACCESS_POINT__HTTPS_PORT"] = str(free_port())
        self.servers.append(server)
        return server

    def api(self, server: Server) -> Api:
        """A client of ``server``'s API as the admin (closed with the deployment)."""
        client = Api(server)
        self.clients.append(client)
        return client

    def logs(self) -> str:
        return "\n".join(s.log_tail() for s in self.servers)

    def stop(self) -> None:
        for client in self.clients:
            client.http.close()
        self.clients.clear()
        for server in self.servers:
            server.stop()


@pytest.fixture
def deployment_factory(tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(dbs: Databases, **env: str) -> Deployment:
        full = {
            **os.environ,
            "ORBIT_DATABASE_URL": dbs.store_url,
            "ORBIT_SIM__DATABASE_URL": dbs.sim_url,
            "ORBIT_SECURITY__KEY_FILE": str(tmp_path / "keys.json"),
            "ORBIT_SIM__NODE_LATENCY": "0",
            "ORBIT_SIM__POD_LATENCY": "0",
            "ORBIT_CONTROLLERS__POLL_INTERVAL": "0.2",
            "ORBIT_CONTROLLERS__BASE_DELAY": "0.05",
            "ORBIT_CONTROLLERS__MAX_DELAY": "2",
            "ORBIT_CONTROLLERS__WORKERS": "8",
            "ORBIT_SHARDING__SHARDS": "16",
            "ORBIT_SHARDING__LEASE_SECONDS": "4",
            "ORBIT_LOG_LEVEL": "INFO",
            **env,
        }
        for name in ("ORBIT_SERVER", "ORBIT_DATA_DIR", "ORBIT_PORT", "ORBIT_ROLE"):
            full.pop(name, None)
        deployment = Deployment(tmp_path / f"deployment{len(made)}", dbs, full)
        deployment.root.mkdir()
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        deployment.stop()


def cluster_doc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "orbit.k8or.io/v1alpha1",
        "kind": "ClusterDeployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": "sim-single-1-0-0", "credential": "sim", "config": {"workers": 1}},
    }


class Api:
    """The REST API of one API process, as the admin."""

    def __init__(self, server: Server) -> None:
        token = (server.data_dir / "admin.token").read_text().strip()
        self.server = server
        self.http = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def create_cluster(self, name: str) -> httpx.Response:
        return self.http.post(
            f"{API}/namespaces/default/clusterdeployments", json=cluster_doc(name)
        )

    def clusters(self) -> list[dict[str, Any]]:
        answer = self.http.get(f"{API}/namespaces/default/clusterdeployments")
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def phases(self) -> dict[str, str]:
        return {
            c["metadata"]["name"]: c.get("status", {}).get("phase", "") for c in self.clusters()
        }

    def ready_count(self) -> int:
        try:
            return sum(1 for p in self.phases().values() if p == "Ready")
        except httpx.HTTPError:
            return -1


def holders(store_url: str) -> dict[int, str | None]:
    """Each shard's live holder by the database's clock."""
    rows = sql(
        store_url,
        "SELECT shard, CASE WHEN expires_at > EXTRACT(EPOCH FROM clock_timestamp()) "
        "THEN holder END AS holder FROM shard_leases ORDER BY shard",
    )
    return {int(r["shard"]): r["holder"] for r in rows}


def holder_pid(holder: str | None) -> int | None:
    """The pid inside a member id (``HOST-PID-RANDOM``)."""
    if holder is None:
        return None
    return int(holder.rsplit("-", 2)[-2])


# -- a private PostgreSQL a test may restart ---------------------------------------------------


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL 15 in a temp dir on a free port, run as the postgres user."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120.0) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.root / "data"), "-U", "postgres",
            "--auth=trust", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-l",
            str(self.root / "postgres.log"), "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")


def _private_postgres_possible() -> str | None:
    if not (PG_BIN / "pg_ctl").exists():
        return f"no PostgreSQL binaries in {PG_BIN}"
    if shutil.which("runuser") is None:
        return "runuser is missing"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user"
    if os.geteuid() != 0:
        return "starting a private PostgreSQL as the postgres user needs root"
    return None


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL (never the shared one: tests stop and start it)."""
    reason = _private_postgres_possible()
    if reason is not None:
        if os.environ.get("ORBIT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"cannot run a private PostgreSQL: {reason}")
        pytest.skip(f"cannot run a private PostgreSQL: {reason}")
    root = Path(tempfile.mkdtemp(prefix="orbit-pg-"))
    shutil.chown(root, "postgres", "postgres")
    server = PrivatePostgres(root, free_port())
    server.init()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(AssertionError):  # already stopped
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
