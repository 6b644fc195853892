"""Shard leases against the real store (SQLite and PostgreSQL): acquire, renew, expiry
takeover, fair-share rebalancing, release, and fencing (two members never both work on a shard).

Leases here are short (a fraction of a second) and tests wait for them to expire by polling
with a deadline; nothing asserts how long anything took."""

from __future__ import annotations

import asyncio
import time
import zlib

from orbit.runtime.sharding import LeaseTable, ShardMember, shard_of
from orbit.store import SqlStore

from ..conftest import Database

SHARDS = 8
SHORT = 0.4  # seconds: a lease that expires quickly


def table(store: SqlStore, *, lease: float = 30.0, shards: int = SHARDS) -> LeaseTable:
    return LeaseTable(store.engine, shards=shards, lease_seconds=lease)


async def eventually_round(
    leases: LeaseTable, member: str, held: frozenset[int], *, want: int, timeout: float = 30.0
) -> frozenset[int]:
    """Run rounds for ``member`` until it holds ``want`` shards (expiries pass meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        held = (await leases.round(member, held)).held
        if len(held) == want or time.monotonic() > deadline:
            return held
        await asyncio.sleep(0.05)


def test_shard_of_is_stable_and_spreads() -> None:
    assert shard_of("team-a", "c1", 16) == shard_of("team-a", "c1", 16)
    # CRC-32 of "team-a/c1": the same in every process, unlike hash().
    assert shard_of("team-a", "c1", 16) == zlib.crc32(b"team-a/c1") % 16
    used = {shard_of("ns", f"cluster-{i}", 16) for i in range(200)}
    assert used == set(range(16))


async def test_one_member_acquires_every_shard_and_renews(store: SqlStore) -> None:
    leases = table(store)
    await leases.ensure_shards()
    await leases.ensure_shards()  # idempotent
    first = await leases.round("a", frozenset())
    assert first.held == first.acquired == frozenset(range(SHARDS))
    assert (first.members, first.share) == (1, SHARDS)
    assert set((await leases.holders()).values()) == {"a"}
    again = await leases.round("a", first.held)
    assert again.held == first.held
    assert again.acquired == frozenset()
    # Renewing is not a change of hands.
    assert set((await leases.transitions()).values()) == {1}


async def test_a_second_member_gets_nothing_while_leases_are_valid(store: SqlStore) -> None:
    leases = table(store)
    await leases.ensure_shards()
    held_a = (await leases.round("a", frozenset())).held
    b = await leases.round("b", frozenset())
    assert b.held == frozenset()
    assert (b.members, b.share) == (2, SHARDS // 2)
    assert set((await leases.holders()).values()) == {"a"}
    assert held_a == frozenset(range(SHARDS))


async def test_fair_share_rebalances_when_a_member_joins(store: SqlStore) -> None:
    leases = table(store, lease=SHORT)
    await leases.ensure_shards()
    held_a = (await leases.round("a", frozenset())).held
    await leases.round("b", frozenset())  # b is alive now
    # a keeps its fair share (the lowest shards) and stops renewing the rest...
    held_a = (await leases.round("a", held_a)).held
    assert held_a == frozenset(range(SHARDS // 2))
    # ...which pass to b once expired, while a keeps renewing its own.
    held_b: frozenset[int] = frozenset()
    deadline = time.monotonic() + 30
    while len(held_b) < SHARDS // 2 and time.monotonic() < deadline:
        held_a = (await leases.round("a", held_a)).held
        held_b = (await leases.round("b", held_b)).held
        assert not held_a & held_b
        await asyncio.sleep(0.05)
    assert held_b == frozenset(range(SHARDS // 2, SHARDS))
    holders = await leases.holders()
    assert {s for s, h in holders.items() if h == "a"} == held_a
    assert {s for s, h in holders.items() if h == "b"} == held_b


async def test_a_dead_members_shards_are_taken_over_at_expiry(store: SqlStore) -> None:
    leases = table(store, lease=SHORT)
    await leases.ensure_shards()
    await leases.round("dead", frozenset())
    # "dead" never renews again: once its heartbeat and leases expire, b takes everything.
    held = await eventually_round(leases, "b", frozenset(), want=SHARDS)
    assert held == frozenset(range(SHARDS))
    assert set((await leases.holders()).values()) == {"b"}
    assert set((await leases.transitions()).values()) == {2}


async def test_leave_releases_at_once(store: SqlStore) -> None:
    leases = table(store)  # long leases: only the release can free them
    await leases.ensure_shards()
    await leases.round("a", frozenset())
    assert (await leases.round("b", frozenset())).held == frozenset()
    await leases.leave("a")
    assert set((await leases.holders()).values()) == {None}
    taken = await leases.round("b", frozenset())
    assert taken.held == frozenset(range(SHARDS))
    assert taken.members == 1


async def test_an_expired_lease_is_not_renewed_but_taken_anew(store: SqlStore) -> None:
    leases = table(store, lease=SHORT)
    await leases.ensure_shards()
    held = (await leases.round("a", frozenset())).held
    await asyncio.sleep(SHORT * 1.5)
    again = await leases.round("a", held)
    # Expired in the database: taken again as new (the controllers relist those shards).
    assert again.acquired == frozenset(range(SHARDS))


async def test_members_on_separate_stores_share_the_shards(database_url: Database) -> None:
    """As separate processes: each member on its own store (its own connection pool)."""
    stores = [await database_url.open() for _ in range(3)]
    tables = [table(s, lease=SHORT, shards=12) for s in stores]
    await tables[0].ensure_shards()
    held = [frozenset[int]() for _ in tables]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for i, t in enumerate(tables):
            held[i] = (await t.round(f"m{i}", held[i])).held
        assert not (held[0] & held[1]) and not (held[1] & held[2]) and not (held[0] & held[2])
        if [len(h) for h in held] == [4, 4, 4]:
            break
        await asyncio.sleep(0.05)
    assert [len(h) for h in held] == [4, 4, 4]
    assert frozenset().union(*held) == frozenset(range(12))


async def test_fencing_a_member_stops_working_before_another_can_take_over(
    store: SqlStore,
) -> None:
    """A member whose renewals stop (its database connection is gone, or it is paused) stops
    working on its shards before the lease expires in the database; the other member starts
    only after that. Sampled often: at no instant do both own a shard."""
    lease = 0.6
    a = ShardMember(table(store, lease=lease), member="a")
    b = ShardMember(table(store, lease=lease), member="b")
    await a.table.ensure_shards()
    await a.step()
    assert a.held() == frozenset(range(SHARDS))
    taken: list[frozenset[int]] = []
    b.on_acquired(taken.append)
    # a runs no more rounds; b keeps trying.
    deadline = time.monotonic() + 30
    while len(b.held()) < SHARDS and time.monotonic() < deadline:
        await b.step()
        for shard in range(SHARDS):
            assert not (a.owns_shard(shard) and b.owns_shard(shard)), shard
        await asyncio.sleep(0.01)
    assert b.held() == frozenset(range(SHARDS))
    assert a.held() == frozenset()
    assert frozenset().union(*taken) == frozenset(range(SHARDS))


async def test_fencing_under_concurrent_rounds(store: SqlStore) -> None:
    """Two members running rounds concurrently while members come and go: ownership is
    checked continuously and never overlaps."""
    lease = 0.5
    members = [ShardMember(table(store, lease=lease), member=f"m{i}") for i in range(2)]
    await members[0].table.ensure_shards()
    stop = asyncio.Event()
    overlaps: list[int] = []

    async def run(member: ShardMember, pause_after: int) -> None:
        rounds = 0
        while not stop.is_set():
            if rounds != pause_after:  # one member "stalls" for a while mid-run
                await member.step()
            else:
                await asyncio.sleep(lease * 2)
            rounds += 1
            await asyncio.sleep(lease / 3)

    async def watch() -> None:
        while not stop.is_set():
            for shard in range(SHARDS):
                if all(m.owns_shard(shard) for m in members):
                    overlaps.append(shard)
            await asyncio.sleep(0.005)

    tasks = [
        asyncio.create_task(run(members[0], pause_after=4)),
        asyncio.create_task(run(members[1], pause_after=12)),
        asyncio.create_task(watch()),
    ]
    await asyncio.sleep(lease * 12)
    stop.set()
    await asyncio.gather(*tasks)
    assert overlaps == []
    assert members[0].held() | members[1].held() <= frozenset(range(SHARDS))


async def test_member_start_and_stop(store: SqlStore) -> None:
    member = ShardMember(table(store, lease=5.0))
    await member.start()
    try:
        assert member.ready
        assert member.held() == frozenset(range(SHARDS))
        assert member.owns("team-a", "c1")
    finally:
        await member.stop()
    assert not member.owns("team-a", "c1")
    assert set((await member.table.holders()).values()) == {None}
