"""Rows of ``simplane_objects``: every query a cluster's Kubernetes API makes, in one place.

Each function is one statement on a connection the caller holds (and, for writes, a
transaction the caller opened after :func:`next_resource_version` locked the cluster's counter).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from orbit.simplane import db

t = db.objects

WORKLOADS: tuple[tuple[str, str], ...] = (
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("", "pods"),
)
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")


@dataclass
class Row:
    group: str
    resource: str
    namespace: str
    name: str
    body: dict[str, Any]
    created_rv: int = 0
    state: dict[str, Any] | None = None


def _row(r: Any) -> Row:
    return Row(r.api_group, r.resource, r.namespace, r.name, r.body, r.created_rv, r.state)


def _key(uid: str, group: str, resource: str) -> Any:
    return and_(t.c.cluster_uid == uid, t.c.api_group == group, t.c.resource == resource)


async def counter(conn: AsyncConnection, uid: str) -> int | None:
    """The cluster's current resourceVersion; None if its API was never used."""
    query = select(db.kube.c.resource_version).where(db.kube.c.uid == uid)
    return (await conn.execute(query)).scalar_one_or_none()


async def create_counter(conn: AsyncConnection, uid: str, *, created_at: float) -> None:
    await conn.execute(insert(db.kube).values(uid=uid, resource_version=1, created_at=created_at))


async def next_resource_version(conn: AsyncConnection, uid: str) -> int | None:
    """Bump and return the cluster's counter, locking its row until the transaction ends;
    None if the cluster's API is gone (the cluster was deleted meanwhile)."""
    stmt = (
        update(db.kube)
        .where(db.kube.c.uid == uid)
        .values(resource_version=db.kube.c.resource_version + 1)
        .returning(db.kube.c.resource_version)
    )
    found = (await conn.execute(stmt)).scalar_one_or_none()
    return None if found is None else int(found)


async def get(
    conn: AsyncConnection, uid: str, group: str, resource: str, namespace: str, name: str
) -> Row | None:
    query = select(t).where(
        _key(uid, group, resource), t.c.namespace == namespace, t.c.name == name
    )
    found = (await conn.execute(query)).first()
    return None if found is None else _row(found)


async def list_rows(
    conn: AsyncConnection, uid: str, group: str, resource: str, namespace: str | None
) -> list[Row]:
    """One type's objects in ``namespace`` (None: every namespace), by namespace and name."""
    query = select(t).where(_key(uid, group, resource))
    if namespace is not None:
        query = query.where(t.c.namespace == namespace)
    query = query.order_by(t.c.namespace, t.c.name)
    return [_row(r) for r in (await conn.execute(query)).all()]


async def list_types(
    conn: AsyncConnection, uid: str, types: Iterable[tuple[str, str]]
) -> list[Row]:
    """Objects of several types at once (the simulation's workloads), in creation order."""
    wanted = [and_(t.c.api_group == g, t.c.resource == r) for g, r in types]
    query = select(t).where(t.c.cluster_uid == uid, or_(*wanted)).order_by(t.c.created_rv)
    return [_row(r) for r in (await conn.execute(query)).all()]


async def exists(conn: AsyncConnection, uid: str, group: str, resource: str, name: str) -> bool:
    query = select(t.c.name).where(
        _key(uid, group, resource), t.c.namespace == "", t.c.name == name
    )
    return (await conn.execute(query)).first() is not None


async def insert_row(conn: AsyncConnection, uid: str, row: Row) -> None:
    await conn.execute(
        insert(t).values(
            cluster_uid=uid,
            api_group=row.group,
            resource=row.resource,
            namespace=row.namespace,
            name=row.name,
            created_rv=row.created_rv,
            body=row.body,
            state=row.state,
        )
    )


async def update_row(conn: AsyncConnection, uid: str, row: Row) -> None:
    await conn.execute(
        update(t)
        .where(
            _key(uid, row.group, row.resource),
            t.c.namespace == row.namespace,
            t.c.name == row.name,
        )
        .values(body=row.body, state=row.state)
    )


async def delete_row(conn: AsyncConnection, uid: str, row: Row) -> None:
    await conn.execute(
        delete(t).where(
            _key(uid, row.group, row.resource),
            t.c.namespace == row.namespace,
            t.c.name == row.name,
        )
    )


async def delete_namespace(conn: AsyncConnection, uid: str, namespace: str) -> None:
    """Every object in a namespace (not the Namespace itself, which is cluster-scoped)."""
    await conn.execute(delete(t).where(t.c.cluster_uid == uid, t.c.namespace == namespace))


async def delete_type(conn: AsyncConnection, uid: str, group: str, resource: str) -> None:
    """Every object of one type (a CRD was deleted)."""
    await conn.execute(delete(t).where(_key(uid, group, resource)))


async def delete_cluster(conn: AsyncConnection, uid: str) -> None:
    """Everything a cluster's API holds: its objects and its counter."""
    await conn.execute(delete(t).where(t.c.cluster_uid == uid))
    await conn.execute(delete(db.kube).where(db.kube.c.uid == uid))
