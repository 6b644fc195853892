"""Opening the store: URLs, migrations on every start (also concurrent), unreachable databases."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from orbit import errors
from orbit.api import v1alpha1
from orbit.store import SqlStore, open_store
from orbit.store import engine as engines
from orbit.store.engine import normalise_url

from .helpers import cluster, with_namespace


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///orbit.db", "sqlite+aiosqlite:///orbit.db"),
        ("sqlite:////var/lib/orbit/orbit.db", "sqlite+aiosqlite:////var/lib/orbit/orbit.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@db:5432/orbit", "postgresql+asyncpg://u@db:5432/orbit"),
        ("postgres://u@db/orbit", "postgresql+asyncpg://u@db/orbit"),
        ("postgresql+psycopg2://u@db/orbit", "postgresql+asyncpg://u@db/orbit"),
        ("postgresql+asyncpg://u:pw@db/orbit", "postgresql+asyncpg://u:pw@db/orbit"),
    ],
)
def test_urls_get_async_drivers(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize("url", ["mysql://db/orbit", "not a url"])
def test_unsupported_url_is_bad_request(url: str) -> None:
    with pytest.raises(errors.BadRequest):
        normalise_url(url)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_postgres_is_unavailable() -> None:
    port = _closed_port()
    with pytest.raises(errors.Unavailable, match=f"127.0.0.1:{port}/orbit is unavailable"):
        await open_store(f"postgresql://postgres@127.0.0.1:{port}/orbit")


async def test_unknown_postgres_database_is_unavailable(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/orbit_no_such_database"
    with pytest.raises(errors.Unavailable, match="orbit_no_such_database"):
        await open_store(url)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
async def test_in_memory_sqlite_is_refused(url: str) -> None:
    with pytest.raises(errors.BadRequest, match="give a file"):
        await open_store(url)


async def test_sqlite_in_a_missing_directory_is_unavailable(tmp_path: Any) -> None:
    with pytest.raises(errors.Unavailable, match="directory"):
        await open_store(f"sqlite:///{tmp_path}/missing/orbit.db")


async def test_reopening_keeps_data_and_migrates_nothing(database_url: Any) -> None:
    first: SqlStore = await database_url.open()
    await with_namespace(first)
    created = await first.create(cluster("c1"))
    await first.close()

    again: SqlStore = await database_url.open()
    assert await again.get(v1alpha1.ClusterDeployment, "team-a", "c1") == created
    assert await again.revision() == int(created.metadata.resource_version or 0)


async def test_concurrent_first_starts_migrate_once(database_url: Any) -> None:
    stores: list[SqlStore] = await asyncio.gather(*(database_url.open() for _ in range(3)))
    await with_namespace(stores[0])
    for store in stores:
        assert [n.metadata.name for n in (await store.list(v1alpha1.Namespace)).items] == ["team-a"]
    async with stores[0].engine.connect() as conn:
        version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
    head = ScriptDirectory(str(engines.MIGRATIONS)).get_current_head()
    assert [tuple(row) for row in version] == [(head,)]


async def test_sqlite_uses_wal(tmp_path: Any) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/orbit.db")
    async with store.engine.connect() as conn:
        mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar_one()
        busy = (await conn.execute(sa.text("PRAGMA busy_timeout"))).scalar_one()
    await store.close()
    assert mode == "wal"
    assert busy > 0


async def test_closed_store_is_unavailable(store: SqlStore) -> None:
    await store.close()
    with pytest.raises(errors.Unavailable, match="closed"):
        await store.get(v1alpha1.Namespace, None, "team-a")
