"""A read by name finds its row through an index on PostgreSQL whatever the planner knows.

This machine's PostgreSQL runs with autovacuum off, like a new database before its first
analyze: with no statistics the planner once chose the (namespace, kind) index over the
primary key for a read by kind, namespace and name, and scanned every object of the kind
(14 ms a read at 14,000 clusters). Every index on ``resources`` now ends in the name."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from orbit.store import SqlStore

ROWS = 3000


def _walk(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _walk(child)
    return nodes


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_read_by_name_is_a_point_lookup_without_statistics(store: SqlStore) -> None:
    rows = [
        {
            "kind": "ClusterDeployment",
            "namespace": "default",
            "name": f"c{i:05d}",
            "uid": f"00000000-0000-0000-0000-{i:012d}",
            "resource_version": i + 1,
            "body": "{}",
        }
        for i in range(ROWS)
    ]
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO resources (kind, namespace, name, uid, resource_version, body) "
                "VALUES (:kind, :namespace, :name, :uid, :resource_version, :body)"
            ),
            rows,
        )
        plan = (
            await conn.execute(
                sa.text(
                    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT body FROM resources WHERE "
                    "kind = 'ClusterDeployment' AND namespace = 'default' AND name = 'c01234'"
                )
            )
        ).scalar_one()
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    nodes = _walk(top)
    assert all("Seq Scan" not in n["Node Type"] for n in nodes), nodes
    assert sum(n.get("Rows Removed by Filter", 0) for n in nodes) == 0, nodes
    assert any("name" in n.get("Index Cond", "") for n in nodes), nodes
