"""The audit log on both backends: appends form one hash chain, lists filter, and ``verify``
names the first record that was changed, removed or inserted behind its back (by SQL)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from orbit.security import audit
from orbit.security.audit import AuditEntry, AuditLog
from orbit.store import SqlStore
from tests.conftest import Database

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def entry(n: int = 0, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "actor": "alice",
        "verb": "create",
        "resource": "clusterdeployments",
        "namespace": "team-a",
        "name": f"c{n}",
        "path": f"/apis/orbit.k8or.io/v1alpha1/namespaces/team-a/clusterdeployments/c{n}",
        "source": "127.0.0.1",
        "code": 201,
    }
    values.update(fields)
    return AuditEntry(**values)  # type: ignore[arg-type]


async def fill(log: AuditLog, count: int) -> None:
    for n in range(1, count + 1):
        await log.record(entry(n))


async def execute(store: SqlStore, sql: str, **params: object) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(sql), params)


async def test_records_form_one_hash_chain(store: SqlStore) -> None:
    log = AuditLog(store.engine, clock=Clock())
    first = await log.record(entry(1))
    second = await log.record(entry(2, outcome="denied", code=403, message="forbidden"))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == audit.GENESIS
    assert second.prev_hash == first.hash
    assert first.at == "2024-05-01T12:00:00.000000Z"
    # The documented formula, recomputed from scratch.
    fields = {k: v for k, v in first.to_dict().items() if k not in ("prevHash", "hash")}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.hash == hashlib.sha256((audit.GENESIS + text).encode()).hexdigest()
    stored = await log.list()
    assert stored == [second, first]


async def test_verify_intact_reports_count_and_head(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    empty = await log.verify()
    assert empty.intact
    assert (empty.records, empty.head_seq, empty.head_hash) == (0, 0, audit.GENESIS)
    await fill(log, 5)
    report = await log.verify()
    head = (await log.list(limit=1))[0]
    assert report.intact, report
    assert (report.records, report.head_seq, report.head_hash) == (5, 5, head.hash)
    assert report.to_dict() == {
        "intact": True,
        "records": 5,
        "head": {"seq": 5, "hash": head.hash},
        "broken": None,
    }


async def test_verify_walks_in_batches(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "VERIFY_BATCH", 3)
    log = AuditLog(store.engine)
    await fill(log, 10)
    assert (await log.verify()).records == 10
    await execute(store, "UPDATE audit_log SET name = 'x' WHERE seq = 7")
    report = await log.verify()
    assert (report.intact, report.broken_seq, report.records) == (False, 7, 6)


async def test_filters(store: SqlStore) -> None:
    clock = Clock()
    log = AuditLog(store.engine, clock=clock)
    await log.record(entry(1))
    clock.now = T0 + timedelta(hours=1)
    await log.record(entry(2, actor="bob", verb="delete", code=200))
    clock.now = T0 + timedelta(hours=2)
    await log.record(entry(3, namespace="team-b", outcome="denied", code=403))
    await log.record(entry(4, resource="clusterdeployments/proxy", outcome="failed", code=500))

    async def seqs(**filters: object) -> list[int]:
        return [r.seq for r in await log.list(**filters)]  # type: ignore[arg-type]

    assert await seqs() == [4, 3, 2, 1]
    assert await seqs(actor="bob") == [2]
    assert await seqs(verb="delete") == [2]
    assert await seqs(resource="clusterdeployments/proxy") == [4]
    assert await seqs(namespace="team-b") == [3]
    assert await seqs(name="c1") == [1]
    assert await seqs(outcome="denied") == [3]
    assert await seqs(since=T0 + timedelta(hours=1)) == [4, 3, 2]
    assert await seqs(until=T0 + timedelta(hours=1)) == [1]
    assert await seqs(since=(T0 + timedelta(hours=1)).replace(tzinfo=None)) == [4, 3, 2]
    assert await seqs(limit=2) == [4, 3]
    assert await seqs(after_seq=1, limit=2) == [2, 3]
    assert await seqs(before_seq=3) == [2, 1]
    assert await seqs(actor="alice", outcome="success") == [1]


async def test_fields_are_bounded_and_actor_defaults(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    long = "é" * 3000  # 6000 bytes
    record = await log.record(
        entry(1, actor="", message=long, path="/x" * 5000, name="a\x00b", namespace="\ud800x")
    )
    assert record.actor == "anonymous"
    assert record.namespace == "?x"
    assert len(record.message.encode()) <= audit.MESSAGE_LIMIT
    assert record.message.endswith("...")
    assert len(record.path) == audit.PATH_LIMIT
    assert record.name == "ab"
    assert (await log.list())[0] == record
    assert (await log.verify()).intact
    with pytest.raises(ValueError, match="outcome"):
        await log.record(entry(2, outcome="maybe"))


def test_append_only() -> None:
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"record", "list", "verify"}


async def test_a_changed_record_is_named(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    await fill(log, 5)
    await execute(store, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    report = await log.verify()
    assert not report.intact
    assert (report.broken_seq, report.problem) == (3, "changed")
    assert "record 3 was changed" in report.message
    assert (report.records, report.head_seq) == (2, 2)


async def test_a_changed_record_with_a_recomputed_hash_breaks_the_next_link(
    store: SqlStore,
) -> None:
    log = AuditLog(store.engine)
    await fill(log, 5)
    third = next(r for r in await log.list() if r.seq == 3)
    forged = {**third.to_dict(), "actor": "mallory"}
    forged_hash = audit.chain_hash(third.prev_hash, forged)
    await execute(
        store, "UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 3", h=forged_hash
    )
    report = await log.verify()
    assert (report.broken_seq, report.problem) == (4, "unlinked")
    assert "record 4 does not follow" in report.message


async def test_a_removed_record_is_named(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    await fill(log, 5)
    await execute(store, "DELETE FROM audit_log WHERE seq = 3")
    report = await log.verify()
    assert (report.broken_seq, report.problem) == (3, "missing")
    assert "record(s) 3 are missing" in report.message


async def test_removing_the_first_record_is_named(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    await fill(log, 3)
    await execute(store, "DELETE FROM audit_log WHERE seq = 1")
    report = await log.verify()
    assert (report.broken_seq, report.problem) == (1, "missing")


async def test_removing_and_renumbering_is_detected(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    await fill(log, 5)
    await execute(store, "DELETE FROM audit_log WHERE seq = 3")
    for seq in (4, 5):
        await execute(
            store, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq - 1, old=seq
        )
    report = await log.verify()
    assert (report.broken_seq, report.problem) == (3, "changed")


async def test_an_inserted_record_is_detected(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    await fill(log, 3)
    insert = (
        "INSERT INTO audit_log (seq, at, actor, verb, resource, namespace, name, path, source,"
        " code, outcome, message, prev_hash, hash) VALUES (:seq, :at, 'mallory', 'delete',"
        " 'clusterdeployments', 'team-a', 'prod', '/x', '10.0.0.1', 200, 'success', '',"
        " :prev, :hash)"
    )
    at = "2024-05-01T12:00:00.000000Z"
    await execute(store, insert, seq=4, at=at, prev=audit.GENESIS, hash="f" * 64)
    report = await log.verify()
    assert (report.broken_seq, report.problem) == (4, "changed")

    # A forger who computes a valid hash but cannot link it to the record before.
    await execute(store, "DELETE FROM audit_log WHERE seq = 4")
    fields = {
        "seq": 4, "at": at, "actor": "mallory", "verb": "delete", "resource": "clusterdeployments",
        "namespace": "team-a", "name": "prod", "path": "/x", "source": "10.0.0.1", "code": 200,
        "outcome": "success", "message": "",
    }  # fmt: skip
    await execute(
        store,
        insert,
        seq=4,
        at=at,
        prev=audit.GENESIS,
        hash=audit.chain_hash(audit.GENESIS, fields),
    )
    report = await log.verify()
    assert (report.broken_seq, report.problem) == (4, "unlinked")


async def test_a_rewritten_chain_fails_against_its_anchor(store: SqlStore) -> None:
    log = AuditLog(store.engine)
    await fill(log, 4)
    anchor = await log.verify()
    pin = (anchor.head_seq, anchor.head_hash)
    assert (await log.verify(anchor=pin)).intact
    # Rewrite record 2 and every hash after it: the chain alone cannot tell.
    await execute(store, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    prev = audit.GENESIS
    for record in reversed(await log.list()):
        new = audit.chain_hash(prev, {**record.to_dict()})
        await execute(
            store, "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s",
            p=prev, h=new, s=record.seq,
        )  # fmt: skip
        prev = new
    assert (await log.verify()).intact
    report = await log.verify(anchor=pin)
    assert (report.broken_seq, report.problem) == (4, "anchor")
    # An anchor beyond the end (records removed from the tail).
    report = await log.verify(anchor=(9, anchor.head_hash))
    assert (report.broken_seq, report.problem) == (9, "anchor")


async def test_concurrent_appends_keep_one_chain(database_url: Database) -> None:
    """Many tasks on two stores (as two processes would be) append at once."""
    first, second = await database_url.open(), await database_url.open()
    logs = [AuditLog(first.engine), AuditLog(second.engine)]
    await asyncio.gather(*(logs[n % 2].record(entry(n)) for n in range(40)))
    report = await logs[0].verify()
    assert report.intact, report
    assert report.records == 40
    names = {r.name for r in await logs[1].list(limit=1000)}
    assert names == {f"c{n}" for n in range(40)}
