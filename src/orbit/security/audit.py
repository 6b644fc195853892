"""The audit log: an append-only, hash-chained record of every change made through Orbit.

Each record says who (``actor``), did what (``verb`` on ``resource`` ``namespace``/``name``, the
request ``path`` without its query string), from where (``source``), when (``at``, ISO 8601
UTC) and how it ended (``code``, ``outcome`` = success | denied | failed, and the error
``message``, cut to 1 KB). Records live in the ``audit_log`` table; this module is the only
code that writes it, and it offers no way to update or delete a record.

The chain. Record ``seq`` (1, 2, 3...) stores ``prev_hash`` (the previous record's hash; 64
zeros for record 1) and ``hash = sha256(prev_hash + canonical JSON)``, where the canonical JSON
holds the record's fields ``seq, at, actor, verb, resource, namespace, name, path, source,
code, outcome, message`` with sorted keys, no spaces, UTF-8 (see :func:`chain_hash`: anyone can
re-check a dump with a dozen lines of code). :meth:`AuditLog.verify` walks the chain and names
the first record that was changed (its hash no longer matches its fields), removed (a gap in
``seq``) or inserted (its ``prev_hash`` does not match the record before it).

What it cannot do: someone with write access to the database can rewrite the whole chain from
the point they altered, recomputing every hash, and the chain will verify. The chain makes
tampering *evident*, not impossible. Anchor the head externally: ``orbit audit verify`` prints
the head's seq and hash; record them somewhere the database's users cannot write (a ticket, a
log shipper, a git commit), and later ``orbit audit verify --anchor SEQ:HASH`` proves the log up
to that record is the one you saw.

Appends are serialised across processes, so concurrent writers never fork the chain: on
PostgreSQL the transaction locks the table in EXCLUSIVE mode (readers still run; the next
writer waits), on SQLite it starts with ``BEGIN IMMEDIATE`` (the database's write lock). In one
process writers also queue on an asyncio lock, as the store's writers do, so waiting costs no
pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbit.store import engine as engines
from orbit.store import schema

GENESIS = "0" * 64
MESSAGE_LIMIT = 1024  # bytes of UTF-8
PATH_LIMIT = 2048  # characters
OUTCOMES = ("success", "denied", "failed")
ANONYMOUS = "anonymous"
VERIFY_BATCH = 1000
MAX_LIMIT = 1000

_rows = schema.audit_log
# The fields the hash covers, in the order records show them.
HASHED = (
    "seq",
    "at",
    "actor",
    "verb",
    "resource",
    "namespace",
    "name",
    "path",
    "source",
    "code",
    "outcome",
    "message",
)


@dataclass(frozen=True)
class AuditEntry:
    """What a caller asks to record; :meth:`AuditLog.record` adds seq, time and the chain."""

    actor: str
    verb: str
    resource: str
    namespace: str = ""
    name: str = ""
    path: str = ""
    source: str = ""
    code: int = 0
    outcome: str = "success"
    message: str = ""


@dataclass(frozen=True)
class AuditRecord:
    """One stored record, exactly as hashed."""

    seq: int
    at: str
    actor: str
    verb: str
    resource: str
    namespace: str
    name: str
    path: str
    source: str
    code: int
    outcome: str
    message: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["prevHash"] = body.pop("prev_hash")
        return body


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`AuditLog.verify` found. ``intact``: no broken record; ``records``: how many
    were checked and found good; ``head_seq``/``head_hash``: the last good record (seq 0 and 64
    zeros for an empty log); ``broken_seq``/``problem``/``message``: the first broken record,
    ``problem`` one of changed | missing | unlinked | duplicate | anchor."""

    intact: bool
    records: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        broken = None
        if not self.intact:
            broken = {"seq": self.broken_seq, "problem": self.problem, "message": self.message}
        return {
            "intact": self.intact,
            "records": self.records,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "broken": broken,
        }


def canonical(fields_: dict[str, Any]) -> bytes:
    """The hashed form of a record's fields: sorted keys, no whitespace, UTF-8."""
    hashed = {key: fields_[key] for key in HASHED}
    return json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, fields_: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical JSON)`` as 64 hex digits."""
    return hashlib.sha256(prev_hash.encode() + canonical(fields_)).hexdigest()


def timestamp(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC (``2024-05-01T12:00:00.000000Z``), so text order is time order.
    A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _storable(text: str) -> str:
    # PostgreSQL refuses NUL in text, and UTF-8 has no lone surrogates (JSON can carry them).
    return text.replace("\x00", "").encode("utf-8", "replace").decode()


def _clip(text: str, chars: int) -> str:
    # varchar columns refuse longer values (PostgreSQL counts characters).
    return _storable(text)[:chars]


def clip_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` bytes of UTF-8 (on a character boundary, ending in ``...``)."""
    text = _storable(text)
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "..."


def _column_chars(name: str) -> int:
    length = getattr(_rows.c[name].type, "length", None)
    return int(length) if length else PATH_LIMIT


def _clean(entry: AuditEntry) -> dict[str, Any]:
    if entry.outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {entry.outcome!r} is not one of {', '.join(OUTCOMES)}")
    values: dict[str, Any] = {}
    for field in fields(AuditEntry):
        value = getattr(entry, field.name)
        if field.name == "code":
            values["code"] = int(value)
        elif field.name == "message":
            values["message"] = clip_message(str(value))
        else:
            values[field.name] = _clip(str(value), _column_chars(field.name))
    values["actor"] = values["actor"] or ANONYMOUS
    return values


def _record(row: Any) -> AuditRecord:
    values = {f.name: row[f.name] for f in fields(AuditRecord)}
    values["seq"], values["code"] = int(values["seq"]), int(values["code"])
    return AuditRecord(**values)


class AuditLog:
    """The audit log in ``engine``'s database (the store's: ``SqlStore.engine``)."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._sqlite = engines.is_sqlite(engine)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = asyncio.Lock()

    async def record(self, entry: AuditEntry) -> AuditRecord:
        """Append ``entry`` as the next record of the chain, stamped with the current time."""
        values = _clean(entry)
        async with self._lock, self._appending() as conn:
            last = (
                await conn.execute(
                    sa.select(_rows.c.seq, _rows.c.hash).order_by(_rows.c.seq.desc()).limit(1)
                )
            ).first()
            seq, prev_hash = (1, GENESIS) if last is None else (int(last.seq) + 1, last.hash)
            values.update(seq=seq, at=timestamp(self._clock()))
            row = {**values, "prev_hash": prev_hash, "hash": chain_hash(prev_hash, values)}
            await conn.execute(sa.insert(_rows).values(**row))
        return AuditRecord(**row)

    async def list(
        self,
        *,
        actor: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after_seq: int | None = None,
        before_seq: int | None = None,
    ) -> list[AuditRecord]:
        """Matching records, newest first; with ``after_seq``, the oldest after it first (to
        page forward). ``since`` is inclusive, ``until`` exclusive; ``limit`` is capped at
        1000."""
        query = sa.select(_rows)
        for column, wanted in (
            (_rows.c.actor, actor),
            (_rows.c.verb, verb),
            (_rows.c.resource, resource),
            (_rows.c.namespace, namespace),
            (_rows.c.name, name),
            (_rows.c.outcome, outcome),
        ):
            if wanted is not None:
                query = query.where(column == wanted)
        if since is not None:
            query = query.where(_rows.c.at >= timestamp(since))
        if until is not None:
            query = query.where(_rows.c.at < timestamp(until))
        if before_seq is not None:
            query = query.where(_rows.c.seq < before_seq)
        if after_seq is not None:
            query = query.where(_rows.c.seq > after_seq).order_by(_rows.c.seq)
        else:
            query = query.order_by(_rows.c.seq.desc())
        query = query.limit(max(1, min(limit, MAX_LIMIT)))
        async with self._reading() as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row._mapping) for row in rows]

    async def verify(self, *, anchor: tuple[int, str] | None = None) -> VerifyReport:
        """Walk the chain from record 1 in seq order, in batches (constant memory), and report
        the first broken record. ``anchor`` (seq, hash), a head recorded earlier: the record
        with that seq must still exist and carry that hash."""
        walk = _Walk(anchor)
        after = 0
        while True:
            async with self._reading() as conn:
                batch = (
                    await conn.execute(
                        sa.select(_rows)
                        .where(_rows.c.seq > after)
                        .order_by(_rows.c.seq)
                        .limit(VERIFY_BATCH)
                    )
                ).all()
            for row in batch:
                broken = walk.check(_record(row._mapping))
                if broken is not None:
                    return broken
            if len(batch) < VERIFY_BATCH:
                return walk.finish()
            after = int(batch[-1]._mapping["seq"])

    # -- plumbing ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _appending(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction that holds the chain's head until it commits."""
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            if self._sqlite:
                await conn.execution_options(**{engines.SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                if not self._sqlite:
                    await conn.execute(sa.text(f"LOCK TABLE {_rows.name} IN EXCLUSIVE MODE"))
                yield conn

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with engines.translate_errors(self._engine), self._engine.connect() as conn:
            if self._sqlite:
                await conn.execution_options(**{engines.SQLITE_BEGIN: engines.SINGLE_STATEMENT})
            yield conn


class _Walk:
    """The state of one verification: the last good record, checked one record at a time."""

    def __init__(self, anchor: tuple[int, str] | None) -> None:
        self.anchor = anchor
        self.count = 0
        self.seq = 0
        self.hash = GENESIS

    def check(self, record: AuditRecord) -> VerifyReport | None:
        found = next(self._problems(record), None)
        if found is not None:
            problem, message = found
            return self._broken(
                self.seq + 1 if problem == "missing" else record.seq, problem, message
            )
        self.count += 1
        self.seq, self.hash = record.seq, record.hash
        return None

    def finish(self) -> VerifyReport:
        if self.anchor is not None and self.anchor[0] > self.seq:
            seq = self.anchor[0]
            message = f"record {seq} (the anchor) is missing: the log ends at record {self.seq}"
            return self._broken(seq, "anchor", message)
        return VerifyReport(intact=True, records=self.count, head_seq=self.seq, head_hash=self.hash)

    def _problems(self, record: AuditRecord) -> Iterator[tuple[str, str]]:
        seq = record.seq
        if seq == self.seq:
            yield "duplicate", f"record {seq} appears twice"
        if seq > self.seq + 1:
            missing = f"{self.seq + 1}" if seq == self.seq + 2 else f"{self.seq + 1}-{seq - 1}"
            yield (
                "missing",
                (
                    f"record(s) {missing} are missing (removed): the log jumps from record "
                    f"{self.seq or 'start'} to record {seq}"
                ),
            )
        if chain_hash(record.prev_hash, asdict(record)) != record.hash:
            yield (
                "changed",
                (f"record {seq} was changed: its fields no longer match its hash {record.hash}"),
            )
        if record.prev_hash != self.hash:
            before = f"record {self.seq}'s hash" if self.seq else "the chain's start (64 zeros)"
            yield (
                "unlinked",
                (
                    f"record {seq} does not follow the record before it: its prev_hash "
                    f"{record.prev_hash} is not {before} {self.hash} (a record was inserted, "
                    "replaced or rewritten)"
                ),
            )
        if self.anchor is not None and seq == self.anchor[0] and record.hash != self.anchor[1]:
            yield (
                "anchor",
                (
                    f"record {seq} has hash {record.hash}, not the anchored {self.anchor[1]}: "
                    "the log was rewritten up to it"
                ),
            )
        if self.anchor is not None and self.seq < self.anchor[0] < seq:
            yield "anchor", f"record {self.anchor[0]} (the anchor) is missing"

    def _broken(self, seq: int, problem: str, message: str) -> VerifyReport:
        return VerifyReport(
            intact=False,
            records=self.count,
            head_seq=self.seq,
            head_hash=self.hash,
            broken_seq=seq,
            problem=problem,
            message=message,
        )
