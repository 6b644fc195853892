"""API tokens: issued once, stored as an argon2 hash, with expiry, scopes and revocation.

A token reads ``orbit_<id>_<secret>``. The id is public (it names the token in listings and
in the audit log) and finds the row; the secret is checked against the row's argon2id hash.
argon2 is deliberately slow (tens of milliseconds), so a process remembers, per token id, the
SHA-256 of the secret it last verified: a request with a known token costs one indexed read
(the row is read every time, so revocation and expiry take effect on the next request) and no
argon2. The memo lives only in memory; the database never holds anything a token can be
rebuilt from.

Authentication also reads the token's ``User``: a missing or disabled user makes every one of
its tokens fail, and the user's ``spec.groups`` join the groups recorded on the token (an OIDC
login records the identity provider's groups there).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import argon2
import sqlalchemy as sa

from orbit import errors
from orbit.api import v1alpha1
from orbit.security.identity import ALL_SCOPES, SCOPES, Identity
from orbit.store import engine as engines
from orbit.store import schema
from orbit.store.base import ResourceStore
from orbit.store.sql import SqlStore

PREFIX = "orbit_"
_rows = schema.api_tokens
_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: everything but its secret."""

    id: str
    user: str
    groups: tuple[str, ...]
    scopes: tuple[str, ...]
    description: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None

    def state(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "groups": list(self.groups),
            "scopes": list(self.scopes),
            "description": self.description,
            "createdAt": _iso(self.created_at),
            "expiresAt": _iso(self.expires_at),
            "revokedAt": _iso(self.revoked_at),
            "state": self.state(),
        }


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in ALL_SCOPES]
    if unknown:
        raise errors.invalid(
            "Token",
            "",
            errors.Cause(
                "scopes", f"unknown scope(s) {', '.join(unknown)}: use {', '.join(SCOPES)}"
            ),
        )
    if not wanted:
        raise errors.invalid("Token", "", errors.Cause("scopes", "give at least one scope"))
    return wanted


def split(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not token_id or not secret:
        return None
    return token_id, secret


class TokenStore:
    """Tokens in the store's database (``api_tokens``), and authentication by token."""

    def __init__(self, store: SqlStore, *, users: ResourceStore | None = None) -> None:
        """``users``: where an authenticated token's User is read (default ``store``; the API
        passes its authorization cache)."""
        self._store: ResourceStore = users or store
        self._engine = store.engine
        self._verified: dict[str, bytes] = {}

    async def issue(
        self,
        user: str,
        *,
        groups: Iterable[str] = (),
        scopes: Iterable[str] = SCOPES,
        ttl: timedelta | None = None,
        description: str = "",
    ) -> tuple[TokenInfo, str]:
        """A new token for ``user``: its info and its plaintext, which is never seen again."""
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = time.time()
        info = TokenInfo(
            id=token_id,
            user=user,
            groups=tuple(groups),
            scopes=check_scopes(scopes),
            description=description,
            created_at=now,
            expires_at=None if ttl is None else now + ttl.total_seconds(),
            revoked_at=None,
        )
        row = {
            "id": info.id,
            "user": info.user,
            "groups": json.dumps(list(info.groups)),
            "scopes": json.dumps(list(info.scopes)),
            "secret_hash": _hasher.hash(secret),
            "description": description,
            "created_at": info.created_at,
            "expires_at": info.expires_at,
            "revoked_at": None,
        }
        async with engines.translate_errors(self._engine), self._engine.begin() as conn:
            await conn.execute(sa.insert(_rows).values(**row))
        return info, f"{PREFIX}{token_id}_{secret}"

    async def get(self, token_id: str) -> TokenInfo:
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            row = (await conn.execute(sa.select(_rows).where(_rows.c.id == token_id))).first()
        if row is None:
            raise errors.NotFound(f'token "{token_id}" not found', kind="Token", name=token_id)
        return _info(row._mapping)

    async def list(self, user: str | None = None) -> list[TokenInfo]:
        query = sa.select(_rows).order_by(_rows.c.created_at, _rows.c.id)
        if user is not None:
            query = query.where(_rows.c.user == user)
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_info(row._mapping) for row in rows]

    async def revoke(self, token_id: str) -> TokenInfo:
        """Revoke (idempotent: a revoked token keeps its first revocation time)."""
        async with engines.translate_errors(self._engine), self._engine.begin() as conn:
            await conn.execute(
                sa.update(_rows)
                .where(_rows.c.id == token_id, _rows.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
        self._verified.pop(token_id, None)
        return await self.get(token_id)

    async def authenticate(self, token: str) -> Identity:
        """The identity behind ``token``; Unauthorized saying why when there is none."""
        parts = split(token)
        if parts is None:
            raise errors.Unauthorized("the bearer token is not an Orbit token (orbit_<id>_...)")
        token_id, secret = parts
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            await engines.single_statement(conn)  # every request reads it: no BEGIN, no ROLLBACK
            row = (await conn.execute(sa.select(_rows).where(_rows.c.id == token_id))).first()
        if row is None or not self._check_secret(token_id, secret, row.secret_hash):
            raise errors.Unauthorized("the token is not valid")
        info = _info(row._mapping)
        state = info.state()
        if state != "active":
            raise errors.Unauthorized(f"the token {token_id} is {state}")
        try:
            user = await self._store.get(v1alpha1.User, None, info.user)
        except errors.NotFound:
            raise errors.Unauthorized(f'the token\'s user "{info.user}" no longer exists') from None
        if user.spec.disabled:
            raise errors.Unauthorized(f'user "{info.user}" is disabled')
        groups = tuple(dict.fromkeys((*info.groups, *user.spec.groups)))
        return Identity(
            user=info.user, groups=groups, scopes=frozenset(info.scopes), token_id=info.id
        )

    def _check_secret(self, token_id: str, secret: str, stored_hash: str) -> bool:
        digest = hashlib.sha256(secret.encode()).digest()
        known = self._verified.get(token_id)
        if known is not None and hmac.compare_digest(known, digest):
            return True
        try:
            _hasher.verify(stored_hash, secret)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False
        self._verified[token_id] = digest
        return True


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        user=row["user"],
        groups=tuple(json.loads(row["groups"])),
        scopes=tuple(json.loads(row["scopes"])),
        description=row["description"],
        created_at=float(row["created_at"]),
        expires_at=None if row["expires_at"] is None else float(row["expires_at"]),
        revoked_at=None if row["revoked_at"] is None else float(row["revoked_at"]),
    )
