"""Sealed secret rows: the SQL side of the ``secrets`` table (no plaintext ever comes here).

A row is secret material owned by one object (its ``uid``) under a name: a Credential's secret
values, a cluster's kubeconfig. What the store keeps is already sealed by ``orbit.crypto``:
the id of the key-encryption key, the wrapped data key, the nonce and the ciphertext, as text.
The store does not import the crypto layer; anything with those four attributes
(:class:`SealedSecret`) can be written.

The functions take the connection of a transaction the caller opened, so a secret is written,
replaced or removed in the same transaction as its owner object (see :mod:`orbit.store.sql`).
Rotation pages through the rows (``page``) and swaps each for its re-encrypted form only if it
is still the row that was read (``swap``), so it never overwrites a newer value.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from orbit import errors
from orbit.crypto import SealedLike
from orbit.store import schema

_rows = schema.secrets
NAME = re.compile(r"^[A-Za-z0-9._-]{1,63}$")


#: A sealed value as ``orbit.crypto.Sealed`` gives it (base64 text fields).
SealedSecret = SealedLike


@dataclass(frozen=True)
class SecretRow:
    """One stored secret: its owner and name, and the sealed value's columns."""

    owner_uid: str
    name: str
    key_id: str
    wrapped_key: str
    nonce: str
    ciphertext: str


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise errors.BadRequest(
            f"secret name {name!r} is invalid: 1 to 63 of letters, digits, '.', '_' and '-'"
        )


def _row(row: Iterable[Any]) -> SecretRow:
    return SecretRow(*(str(value) for value in row))


_COLUMNS = (
    _rows.c.owner_uid,
    _rows.c.name,
    _rows.c.key_id,
    _rows.c.wrapped_key,
    _rows.c.nonce,
    _rows.c.ciphertext,
)


async def write(
    conn: AsyncConnection, owner_uid: str, changes: Mapping[str, SealedSecret | None]
) -> bool:
    """Upsert (a value) or remove (None) each named secret of ``owner_uid``; whether any row
    changed."""
    changed = False
    for name, sealed in changes.items():
        check_name(name)
        if sealed is None:
            result = await conn.execute(
                sa.delete(_rows).where(_rows.c.owner_uid == owner_uid, _rows.c.name == name)
            )
            changed = changed or bool(result.rowcount)
            continue
        await _upsert(conn, owner_uid, name, sealed)
        changed = True
    return changed


async def _upsert(conn: AsyncConnection, owner_uid: str, name: str, sealed: SealedSecret) -> None:
    values = {
        "key_id": sealed.key_id,
        "wrapped_key": sealed.wrapped_key,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "updated_at": time.time(),
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_rows).values(owner_uid=owner_uid, name=name, **values)
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=["owner_uid", "name"], set_=values)
    )


async def remove_owner(conn: AsyncConnection, owner_uid: str) -> None:
    """Every secret of ``owner_uid`` goes (its owner is being removed)."""
    await conn.execute(sa.delete(_rows).where(_rows.c.owner_uid == owner_uid))


async def get(conn: AsyncConnection, owner_uid: str, name: str) -> SecretRow | None:
    query = sa.select(*_COLUMNS).where(_rows.c.owner_uid == owner_uid, _rows.c.name == name)
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else _row(row)


async def names(conn: AsyncConnection, owner_uid: str) -> list[str]:
    query = sa.select(_rows.c.name).where(_rows.c.owner_uid == owner_uid).order_by(_rows.c.name)
    return [str(name) for name in (await conn.execute(query)).scalars()]


async def page(
    conn: AsyncConnection,
    *,
    exclude_key_id: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[SecretRow]:
    """Up to ``limit`` rows in (owner_uid, name) order after ``after``, skipping those sealed
    under ``exclude_key_id``."""
    query = sa.select(*_COLUMNS)
    if exclude_key_id is not None:
        query = query.where(_rows.c.key_id != exclude_key_id)
    if after is not None:
        query = query.where(
            sa.tuple_(_rows.c.owner_uid, _rows.c.name)
            > sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
        )
    query = query.order_by(_rows.c.owner_uid, _rows.c.name).limit(limit)
    return [_row(row) for row in (await conn.execute(query)).all()]


async def swap(conn: AsyncConnection, old: SecretRow, new: SealedSecret) -> bool:
    """Replace ``old`` by ``new`` if the row still holds exactly ``old`` (else a newer value
    was written meanwhile, which stays)."""
    stmt = (
        sa.update(_rows)
        .where(
            _rows.c.owner_uid == old.owner_uid,
            _rows.c.name == old.name,
            _rows.c.key_id == old.key_id,
            _rows.c.ciphertext == old.ciphertext,
        )
        .values(
            key_id=new.key_id,
            wrapped_key=new.wrapped_key,
            nonce=new.nonce,
            ciphertext=new.ciphertext,
            updated_at=time.time(),
        )
    )
    return bool((await conn.execute(stmt)).rowcount)


async def key_ids(conn: AsyncConnection) -> dict[str, int]:
    """How many rows each key-encryption key wraps."""
    query = sa.select(_rows.c.key_id, sa.func.count()).group_by(_rows.c.key_id)
    return {str(row[0]): int(row[1]) for row in (await conn.execute(query)).all()}


async def owner_exists(conn: AsyncConnection, owner_uid: str) -> bool:
    """Whether an object with ``owner_uid`` exists (row-locked on PostgreSQL until the
    transaction ends, so it cannot be removed under a secret being written for it)."""
    query = (
        sa.select(schema.resources.c.uid)
        .where(schema.resources.c.uid == owner_uid)
        .with_for_update()
    )
    return (await conn.execute(query)).scalar_one_or_none() is not None
