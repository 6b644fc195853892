"""The controller's shard hook: keys outside the process's shards get no pass; every key of a
shard the process takes gets one; two controllers on two members split the keys without
reconciling any key in both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from orbit.api import v1alpha1
from orbit.runtime import Controller
from orbit.runtime.sharding import LeaseTable, Listener, ShardMember, shard_of
from orbit.store import SqlStore

from ..conftest import Database
from ..runtime.helpers import Recorder, credential, eventually, make_namespace, request

SHARDS = 4
NAMES = [f"c{i}" for i in range(24)]


class FixedGate:
    """A gate owning a set of shards that the test changes by hand."""

    def __init__(self, owned: set[int]) -> None:
        self.owned = owned
        self.listeners: list[Listener] = []

    def shard_of(self, namespace: str, name: str) -> int:
        return shard_of(namespace, name, SHARDS)

    def owns(self, namespace: str, name: str) -> bool:
        return self.shard_of(namespace, name) in self.owned

    def on_acquired(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def take(self, shards: set[int]) -> None:
        self.owned |= shards
        for listener in self.listeners:
            listener(frozenset(shards))


def controller(store: SqlStore, rec: Recorder, gate: object) -> Controller:
    return Controller(
        "sharded",
        store=store,
        kind=v1alpha1.Credential,
        reconciler=rec,
        base_delay=0.01,
        max_delay=0.1,
        shards=gate,  # type: ignore[arg-type]
    )


def in_shards(shards: set[int]) -> Callable[[str], bool]:
    return lambda name: shard_of("team-a", name, SHARDS) in shards


async def test_skips_keys_of_other_shards_and_relists_a_shard_it_takes(store: SqlStore) -> None:
    await make_namespace(store)
    for name in NAMES:
        await store.create(credential(name))
    gate = FixedGate({0})
    rec = Recorder(store)
    ctl = controller(store, rec, gate)
    await ctl.start()
    try:
        mine = [n for n in NAMES if in_shards({0})(n)]
        others = [n for n in NAMES if not in_shards({0})(n)]
        assert mine and others
        await eventually(lambda: all(rec.count(request(n)) >= 1 for n in mine), what="shard 0")
        await asyncio.sleep(0.2)  # room for a wrong pass to happen
        assert all(rec.count(request(n)) == 0 for n in others)
        gate.take({1, 2, 3})
        await eventually(
            lambda: all(rec.count(request(n)) >= 1 for n in others), what="taken shards"
        )
    finally:
        await ctl.stop(timeout=5)


async def test_two_members_split_the_keys_and_never_share_one(database_url: Database) -> None:
    stores = [await database_url.open() for _ in range(2)]
    await make_namespace(stores[0])
    for name in NAMES:
        await stores[0].create(credential(name))
    members = [
        ShardMember(LeaseTable(s.engine, shards=SHARDS, lease_seconds=30.0), member=f"m{i}")
        for i, s in enumerate(stores)
    ]
    # m0 takes every shard; m1 joins and gets nothing while m0's (long) leases are valid.
    await members[0].start()
    recs = [Recorder(s) for s in stores]
    ctls = [controller(s, r, m) for s, r, m in zip(stores, recs, members, strict=True)]
    try:
        await ctls[0].start()
        await eventually(lambda: all(recs[0].count(request(n)) >= 1 for n in NAMES), what="m0")
        await members[1].start()  # holds nothing yet: m0's leases are valid
        await ctls[1].start()
        assert members[1].held() == frozenset()
        await asyncio.sleep(0.2)
        assert all(recs[1].count(request(n)) == 0 for n in NAMES)
        # m0 leaves (a graceful stop): m1 takes everything on its next round and relists.
        await ctls[0].stop(timeout=5)
        await members[0].stop()
        await members[1].step()
        assert members[1].held() == frozenset(range(SHARDS))
        await eventually(lambda: all(recs[1].count(request(n)) >= 1 for n in NAMES), what="m1")
    finally:
        for ctl in ctls:
            await ctl.stop(timeout=5)
        await members[1].stop()
