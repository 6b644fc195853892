"""Database plumbing for the SQL store: URLs, engines, migrations and driver errors.

Kept apart from the store's semantics so those read as a description of the contract. What
lives here, and why:

- URL normalisation: people write ``sqlite:///orbit.db`` or ``postgresql://...``; the store
  needs the async drivers (aiosqlite, asyncpg).
- SQLite: WAL (readers never block the writer), a generous ``busy_timeout`` (another process
  holding the write lock makes us wait, not fail), foreign keys, and SQLAlchemy emitting
  ``BEGIN`` itself. The sqlite3 driver's legacy mode starts no transaction for SELECT or DDL,
  which would make reads inconsistent and migrations non-atomic; write transactions ask for
  ``BEGIN IMMEDIATE`` so they take the write lock up front.
- PostgreSQL: ``schema`` pins ``search_path`` (test isolation); migrations run under an
  advisory lock so two processes starting together do not both create the tables; a pooled
  connection is pinged in one round trip, not asyncpg's three (:func:`_configure_postgres`),
  and a lone read runs outside a transaction (:func:`single_statement`): each saves round
  trips on every request.
- :func:`translate_errors`: a database that cannot be reached is :class:`errors.Unavailable`
  with a message naming it, never a driver traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from orbit import errors

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10.0
# Execution option naming the BEGIN variant SQLite should use for a transaction.
SQLITE_BEGIN = "orbit_sqlite_begin"
# ...or none at all: a lone SELECT is consistent by itself, and BEGIN costs a thread hop.
SINGLE_STATEMENT = "single-statement"

# Per backend: the async drivers we keep as given; the first is the one we switch to.
_ASYNC_DRIVERS = {"sqlite": ("aiosqlite",), "postgresql": ("asyncpg", "psycopg", "psycopg_async")}
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_UNAVAILABLE = (
    sqlite3.OperationalError,
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
    exc.DisconnectionError,
    OSError,
    TimeoutError,
)
# SQLSTATE classes: 08 connection, 28 authorization, 3D unknown database, 53 resources, 57 shutdown.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "3D", "53", "57"})


def normalise_url(url: str) -> URL:
    """``url`` with an async driver: ``sqlite://`` -> aiosqlite, ``postgresql://`` -> asyncpg."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise errors.BadRequest(f"database URL {url!r} does not parse: {err}") from err
    scheme, _, driver = parsed.drivername.partition("+")
    backend = "postgresql" if scheme == "postgres" else scheme
    if backend not in _ASYNC_DRIVERS:
        raise errors.BadRequest(
            f"database URL {url!r} is not supported: use sqlite:///PATH or postgresql://HOST/DB"
        )
    if driver not in _ASYNC_DRIVERS[backend] or backend != scheme:
        parsed = parsed.set(drivername=f"{backend}+{_ASYNC_DRIVERS[backend][0]}")
    return parsed


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """An async engine for ``url`` with the per-backend settings described above."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_directory(parsed)
        engine = create_async_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S}
    if schema is not None:
        if not _SCHEMA.match(schema):
            raise errors.BadRequest(
                f"schema {schema!r} is not valid: use lowercase letters, digits and '_'"
            )
        connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(parsed, connect_args=connect_args)
    _configure_postgres(engine)
    return engine


async def single_statement(conn: AsyncConnection) -> None:
    """Run ``conn``'s next statement on its own, outside a transaction: a lone SELECT is
    consistent by itself, and BEGIN and ROLLBACK would cost a round trip each on PostgreSQL
    (and a thread hop each on SQLite)."""
    if is_sqlite(conn.engine):
        await conn.execution_options(**{SQLITE_BEGIN: SINGLE_STATEMENT})
    else:
        await conn.execution_options(isolation_level="AUTOCOMMIT")


def _configure_postgres(engine: AsyncEngine) -> None:
    """Ping every pooled connection before use, in one round trip.

    What ``pool_pre_ping`` does, but asyncpg's ping outside a transaction is three round trips
    (BEGIN, the statement, ROLLBACK, for pgbouncer's transaction mode, which Orbit does not
    use): more than the read it guards. Pinging in autocommit mode sends the statement alone.
    A dead connection (the database restarted, or an operation on it was cancelled) is
    replaced before the request sees it, as with pre-ping."""

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.ping()
        except Exception as err:
            # The pool discards the connection and checks out another (a new one if need be).
            raise exc.DisconnectionError(f"a pooled connection is dead: {err}") from err
        finally:
            dbapi_connection.autocommit = autocommit


def _check_sqlite_directory(url: URL) -> None:
    """Fail early, and clearly, when the database file's directory is missing (the driver
    would only say "unable to open database file")."""
    path = url.database or ""
    if path in ("", ":memory:"):
        raise errors.BadRequest(
            "an in-memory SQLite database cannot back the store (its watchers and writers need "
            "connections of their own): give a file, e.g. sqlite:///orbit.db"
        )
    if not path.startswith("file:"):
        directory = Path(path).absolute().parent
        if not directory.is_dir():
            raise errors.Unavailable(
                f"the database at {url.render_as_string(hide_password=True)} is unavailable: "
                f"directory {directory} does not exist; create it or choose another path"
            )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from managing transactions; the "begin" hook below does it properly.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "")
        if mode != SINGLE_STATEMENT:
            conn.exec_driver_sql(f"BEGIN {mode}".strip())


def describe(engine: AsyncEngine) -> str:
    """The engine's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


def _unreachable(err: BaseException) -> bool:
    if isinstance(err, _UNAVAILABLE):
        return True
    # PostgreSQL refusing us: no such database, bad credentials, shutting down, too busy.
    state = getattr(getattr(err, "orig", None), "sqlstate", None) or ""
    return isinstance(err, exc.DBAPIError) and state[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


@contextlib.asynccontextmanager
async def translate_errors(engine: AsyncEngine) -> AsyncIterator[None]:
    """Turn "cannot reach / talk to the database" into :class:`errors.Unavailable`."""
    try:
        yield
    except Exception as err:
        if not _unreachable(err):
            raise
        cause = getattr(err, "orig", None) or err
        hint = (
            "check that its directory exists and is writable"
            if engine.dialect.name == "sqlite"
            else "check that the server is running and that the URL is right"
        )
        raise errors.Unavailable(
            f"the database at {describe(engine)} is unavailable "
            f"({type(cause).__name__}: {cause}); {hint}"
        ) from err


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One write transaction on tables beside the objects' (shard leases, bus cursors):
    Unavailable when the database cannot be reached; on SQLite the write lock is taken up front
    (``BEGIN IMMEDIATE``), so a read-then-write cannot fail half-way on a busy database."""
    async with translate_errors(engine), engine.connect() as conn:
        if is_sqlite(engine):
            await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        async with conn.begin():
            yield conn


def _lock_key(schema: str | None) -> int:
    """A stable signed 64-bit advisory-lock key, one per schema."""
    digest = hashlib.sha256(f"orbit.store.migrate:{schema or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _enable_wal(path: str) -> None:
    """Switch the file to WAL (a persistent setting) before any pooled connection opens it.

    Two connections switching a new file at once can deadlock on its locks, and SQLite then
    fails one at once instead of waiting, so this retries until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            break
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
        finally:
            conn.close()
        time.sleep(0.05)
    if mode.lower() != "wal":
        raise errors.Unavailable(f"SQLite database {path} cannot use WAL (journal mode {mode})")


async def migrate(engine: AsyncEngine, *, schema: str | None = None) -> None:
    """Bring the schema to the newest Alembic revision; safe on every start, and when several
    processes start at once (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock)."""
    config = Config()
    # Escaped: the option parser would read a '%' in the install path as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))

    def upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    path = engine.url.database or ""
    if is_sqlite(engine) and path and path != ":memory:" and not path.startswith("file:"):
        async with translate_errors(engine):
            await asyncio.to_thread(_enable_wal, path)
    async with translate_errors(engine), engine.connect() as conn:
        if is_sqlite(engine):
            await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        async with conn.begin():
            if not is_sqlite(engine):
                await conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema)}
                )
                if schema is not None:
                    await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.run_sync(upgrade)
