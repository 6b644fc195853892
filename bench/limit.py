"""Benchmark: the limit. Raw write throughput of the database Orbit runs on, measured in the
same run with the same driver and engine settings, and Orbit's store writes per second during
a provisioning run as a fraction of it.

    .venv/bin/python bench/limit.py [--rows 5000] [--clusters 1000] [--database-url URL]

Raw: ``--rows`` plain INSERTs, then as many UPDATEs, of rows the size of a Ready
ClusterDeployment's stored JSON, one transaction per statement from one writer, as Orbit's
store commits one transaction per object write. Then ``bench/provision.py``'s run with
``--clusters`` clusters in the same process; Orbit's writes per second over it (each write is
a revision: an object row and its change-feed row) divided by the raw rate. Prints one JSON
object.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import provision
import sqlalchemy as sa
from common import backend, cluster, emit, fresh_database, machine, parser

from orbit.api import v1alpha1
from orbit.store import engine as engines

_meta = sa.MetaData()
_rows = sa.Table(
    "bench_rows",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(253), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)


def _body() -> str:
    """The JSON of a Ready single-node cluster, about what Orbit stores per cluster."""
    obj = cluster("bench-00000")
    obj.metadata.uid = "0" * 36
    obj.metadata.resource_version = "123456"
    obj.status.phase = v1alpha1.Phase.READY
    obj.status.message = "1/1 control-plane and 1/1 worker nodes ready " * 8
    return obj.model_dump_json(by_alias=True, exclude_none=True)


async def raw_writes(url: str, rows: int) -> tuple[float, float, int]:
    """(inserts/s, updates/s, body bytes) with one transaction per statement."""
    engine = engines.create_engine(url)
    body = _body()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_meta.create_all)
        began = time.perf_counter()
        for i in range(rows):
            async with engine.begin() as conn:
                await conn.execute(sa.insert(_rows).values(id=i, name=f"row-{i}", body=body))
        inserts = rows / (time.perf_counter() - began)
        began = time.perf_counter()
        for i in range(rows):
            async with engine.begin() as conn:
                await conn.execute(sa.update(_rows).where(_rows.c.id == i).values(body=body))
        updates = rows / (time.perf_counter() - began)
    finally:
        await engine.dispose()
    return inserts, updates, len(body)


async def run(rows: int, clusters: int, database_url: str | None, tmp: Path) -> dict[str, object]:
    async with fresh_database(database_url, tmp) as url:
        inserts, updates, size = await raw_writes(url or f"sqlite:///{tmp / 'raw.db'}", rows)
    orbit = await provision.run(clusters, database_url, 16, tmp)
    orbit_rate = float(orbit["store_writes_per_s"])  # type: ignore[arg-type]
    raw = (inserts + updates) / 2
    return {
        "benchmark": "limit",
        "backend": backend(database_url),
        "rows": rows,
        "row_bytes": size,
        "raw_inserts_per_s": round(inserts, 1),
        "raw_updates_per_s": round(updates, 1),
        "clusters": clusters,
        "orbit_writes_per_s": orbit_rate,
        "orbit_fraction_of_raw": round(orbit_rate / raw, 3),
        **machine(),
    }


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--clusters", type=int, default=1000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        emit(asyncio.run(run(args.rows, args.clusters, args.database_url, Path(tmp))))


if __name__ == "__main__":
    main()
