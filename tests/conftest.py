"""Shared fixtures: the real SQL store on SQLite and on PostgreSQL.

- ``store``: an open, migrated :class:`orbit.store.SqlStore`, once per backend (ids ``sqlite``
  and ``postgres``). SQLite lives in ``tmp_path``; PostgreSQL uses ``ORBIT_TEST_POSTGRES_URL``
  with a fresh schema per test, dropped afterwards, so tests never see each other's rows.
- ``database_url``: the same parametrisation as a :class:`Database` (URL + schema) whose
  ``open()`` gives further stores on the same database, as separate processes would have.
  ``store`` is opened through it, so a test using both talks to one database.
- ``pg_reachable()`` / ``require_postgres()`` for any test that needs the server: it is skipped
  with a reason when PostgreSQL cannot be reached, unless ``ORBIT_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from orbit.security import bootstrap
from orbit.security.tokens import TokenStore
from orbit.store import SqlStore, open_store

# The shipped provider contract suite asserts; rewrite it so failures show the values.
pytest.register_assert_rewrite("orbit.providers.contract")

POSTGRES_URL = os.environ.get(
    "ORBIT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# Watchers in tests poll often, so cross-store tests wait milliseconds, not half-seconds.
TEST_POLL_INTERVAL = 0.05


def services_required() -> bool:
    return os.environ.get("ORBIT_REQUIRE_SERVICES") == "1"


def _dsn(url: str) -> str:
    """The plain libpq form of a SQLAlchemy URL, for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _probe(url: str) -> None:
    conn = await asyncpg.connect(_dsn(url), timeout=5)
    await conn.close()


@functools.cache
def _reachability(url: str) -> str | None:
    """None when PostgreSQL at ``url`` accepts a login, else why not."""
    # A thread with its own loop: callable from sync code and from inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, _probe(url)).result()
        except (OSError, TimeoutError, asyncpg.PostgresError) as err:
            return f"{type(err).__name__}: {err}"
    return None


def pg_reachable(url: str = POSTGRES_URL) -> bool:
    """Whether the test PostgreSQL accepts connections (checked once per URL per session)."""
    return _reachability(url) is None


def require_postgres(url: str = POSTGRES_URL) -> None:
    """Skip the calling test when PostgreSQL is unreachable (fail if services are required)."""
    reason = _reachability(url)
    if reason is None:
        return
    where = make_url(url).render_as_string(hide_password=True)
    message = f"PostgreSQL at {where} is unreachable ({reason})"
    if services_required():
        pytest.fail(f"{message}, and ORBIT_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{message}; set ORBIT_TEST_POSTGRES_URL, or ORBIT_REQUIRE_SERVICES=1 to fail")


async def drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(_dsn(url), timeout=10)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@dataclass
class Database:
    """One test database: ``url`` and (PostgreSQL) ``schema``; ``open()`` adds a store on it."""

    backend: str
    url: str
    schema: str | None = None
    _stores: list[SqlStore] = field(default_factory=list)

    async def open(self, **options: Any) -> SqlStore:
        options.setdefault("poll_interval", TEST_POLL_INTERVAL)
        store = await open_store(self.url, schema=self.schema, **options)
        self._stores.append(store)
        return store

    async def close(self) -> None:
        for store in self._stores:
            await store.close()
        self._stores.clear()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL URL; skips (or fails, with ORBIT_REQUIRE_SERVICES=1) if unreachable."""
    require_postgres()
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = Database("sqlite", f"sqlite:///{tmp_path / 'orbit.db'}")
        try:
            yield db
        finally:
            await db.close()
        return
    require_postgres()
    db = Database("postgres", POSTGRES_URL, f"test_{uuid.uuid4().hex[:16]}")
    try:
        yield db
    finally:
        await db.close()
        await drop_schema(POSTGRES_URL, db.schema or "")


@pytest.fixture
async def store(database_url: Database) -> SqlStore:
    """A migrated, empty store (closed by ``database_url``'s teardown)."""
    return await database_url.open()


@pytest.fixture(autouse=True)
def _isolated_client_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets its own ``~/.orbit/config`` and no ambient server or token."""
    path = tmp_path / "orbit-client-config"
    monkeypatch.setenv("ORBIT_CONFIG", str(path))
    for name in ("ORBIT_TOKEN", "ORBIT_SERVER", "ORBIT_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    return path


async def admin_token(store: SqlStore, directory: Path) -> str:
    """Bootstrap the admin (as a first start does) and return its token."""
    first = await bootstrap.ensure_admin(store, TokenStore(store), directory / "admin.token")
    return first.token or first.path.read_text().strip()


@pytest.fixture
async def admin_headers(store: SqlStore, tmp_path: Path) -> dict[str, str]:
    """``Authorization`` for the first-start admin of ``store``."""
    return {"Authorization": f"Bearer {await admin_token(store, tmp_path)}"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow files first (a stable sort keeps each file's own order): with several xdist
    workers taking whole files, the long end-to-end ones then start early instead of running
    alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
