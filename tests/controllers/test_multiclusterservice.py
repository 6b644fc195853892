"""MultiClusterService rollouts against the real store. Delivery itself is played by a small
stand-in that reports each ServiceSet Deployed after a short delay (or Failed/Unschedulable
for the template ``bad``), so these tests pin the rollout rules; the e2e tests run the real
delivery engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from orbit import catalog
from orbit.api import v1alpha1
from orbit.controllers import servicesets
from orbit.controllers.multiclusterservice import MultiClusterServiceReconciler
from orbit.errors import Conflict, NotFound
from orbit.runtime.controller import Controller
from orbit.runtime.events import EventRecorder
from orbit.runtime.manager import Manager
from orbit.store import SqlStore

NS = "default"


async def play_delivery(
    store: SqlStore, delay: float, log: list[tuple[float, str, int, str]]
) -> None:
    """Report every ServiceSet's services after ``delay``: Deployed, or Failed for ``bad``."""
    pending: dict[str, asyncio.Task[None]] = {}

    async def report(sset: v1alpha1.ServiceSet) -> None:
        await asyncio.sleep(delay)
        bad = any(s.template == "bad" for s in sset.spec.services)
        sset.status = v1alpha1.ServiceSetStatus(
            observed_generation=sset.metadata.generation,
            services=[
                v1alpha1.ServiceStatus(
                    name=s.name,
                    template=s.template,
                    namespace=s.namespace,
                    state="Failed" if bad else "Deployed",
                    healthy=not bad,
                    reason="Unschedulable" if bad else "",
                )
                for s in sset.spec.services
            ],
        )
        sset.metadata.resource_version = None
        try:
            await store.update_status(sset)
        except Exception:  # deleted meanwhile
            return
        log.append(
            (
                time.monotonic(),
                sset.spec.cluster,
                servicesets.revision_of(sset) or 0,
                "Failed" if bad else "Deployed",
            )
        )

    async for event in store.watch((v1alpha1.ServiceSet,), since=0):
        sset = event.object
        assert isinstance(sset, v1alpha1.ServiceSet)
        if event.type == "DELETED" or sset.metadata.deletion_timestamp:
            if event.type != "DELETED":  # no delivery engine here: let it go
                sset.metadata.finalizers = []
                await store.update(sset)
            continue
        if servicesets.settled(sset):
            continue
        key = f"{sset.metadata.name}/{sset.metadata.generation}"
        if key not in pending:
            pending[key] = asyncio.create_task(report(sset))


@pytest.fixture
async def mcs_env(store: SqlStore) -> AsyncIterator[tuple[SqlStore, list[Any]]]:
    await catalog.install(store)
    log: list[tuple[float, str, int, str]] = []
    reconciler = MultiClusterServiceReconciler(
        store, recorder=EventRecorder(store, component="test"), poll_interval=0.05
    )
    manager = Manager(store=store)
    manager.add(
        Controller(
            "mcs",
            store=store,
            kind=v1alpha1.MultiClusterService,
            reconciler=reconciler,
            watches=reconciler.watches(),
            workers=2,
            base_delay=0.02,
            max_delay=0.5,
        )
    )
    player = asyncio.create_task(play_delivery(store, 0.15, log))
    await manager.start()
    yield store, log
    await manager.stop()
    player.cancel()


async def make_clusters(store: SqlStore, count: int, **labels: str) -> None:
    for i in range(count):
        await store.create(
            v1alpha1.ClusterDeployment(
                metadata=v1alpha1.ObjectMeta(
                    name=f"c{i:02d}", namespace=NS, labels={**labels, "idx": str(i)}
                ),
                spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="sim"),
            )
        )


def svc(template: str = "web-1") -> v1alpha1.Service:
    return v1alpha1.Service(name="web", template=template)


async def wait(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def get_mcs(store: SqlStore, name: str = "web") -> v1alpha1.MultiClusterService:
    return await store.get(v1alpha1.MultiClusterService, NS, name)


async def create_mcs(
    store: SqlStore,
    *,
    rollout: dict[str, Any] | None = None,
    selector: dict[str, str] | None = None,
    template: str = "web-1",
) -> None:
    await store.create(
        v1alpha1.MultiClusterService.model_validate(
            {
                "metadata": {"name": "web", "namespace": NS},
                "spec": {
                    "clusterSelector": {"matchLabels": selector or {"env": "dev"}},
                    "services": [svc(template).model_dump(mode="json", by_alias=True)],
                    "rollout": rollout or {},
                },
            }
        )
    )


async def set_template(store: SqlStore, template: str) -> None:
    for _ in range(20):  # as a client does: re-read and retry on 409
        mcs = await get_mcs(store)
        mcs.spec.services = [svc(template)]
        try:
            await store.update(mcs)
            return
        except Conflict:
            await asyncio.sleep(0.02)
    raise AssertionError("could not update the MultiClusterService")


async def test_delivers_to_matching_clusters_and_follows_labels(mcs_env: Any) -> None:
    store, _ = mcs_env
    await make_clusters(store, 20, env="dev")
    await store.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="prod", namespace=NS, labels={"env": "prod"}),
            spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="sim"),
        )
    )
    await create_mcs(store, rollout={"maxUnavailable": "100%"})

    async def all_deployed() -> bool:
        mcs = await get_mcs(store)
        return mcs.status.summary == "20/20 deployed" and mcs.status.rollout.state == "Complete"

    await wait(all_deployed)
    owner = v1alpha1.OwnerRef(kind="MultiClusterService", name="web")
    assert "prod" not in {s.spec.cluster for s in await servicesets.owned(store, NS, owner)}

    await store.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="late", namespace=NS, labels={"env": "dev"}),
            spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="sim"),
        )
    )

    async def late_deployed() -> bool:
        return (await get_mcs(store)).status.summary == "21/21 deployed"

    await wait(late_deployed)
    moved = await store.get(v1alpha1.ClusterDeployment, NS, "c03")
    moved.metadata.labels["env"] = "staging"
    await store.update(moved)

    async def removed() -> bool:
        sets = {s.spec.cluster for s in await servicesets.owned(store, NS, owner)}
        return "c03" not in sets and len(sets) == 20

    await wait(removed)


async def test_waves_respect_max_unavailable_and_the_health_gate(mcs_env: Any) -> None:
    store, log = mcs_env
    await make_clusters(store, 10, env="dev")
    rollout = {
        "maxUnavailable": 2,
        "soakTime": "1s",
        "waves": [
            {"name": "canary", "percent": 10},
            {"name": "half", "percent": 50},
            {"name": "rest", "percent": 100},
        ],
    }
    await create_mcs(store, rollout=rollout)

    async def complete(revision: int) -> bool:
        mcs = await get_mcs(store)
        return (
            mcs.status.rollout.state == "Complete"
            and mcs.status.rollout.revision == revision
            and mcs.status.summary == "10/10 deployed"
        )

    await wait(lambda: complete(1), timeout=60)
    log.clear()
    await set_template(store, "web-2")
    await wait(lambda: complete(2), timeout=60)

    deployed = [(t, c) for t, c, rev, state in log if rev == 2 and state == "Deployed"]
    order = {c: t for t, c in deployed}
    assert len(order) == 10
    canary, half, rest = ["c00"], [f"c0{i}" for i in range(1, 5)], [f"c0{i}" for i in range(5, 10)]
    # each wave starts only after the previous one was healthy for the soak time
    assert min(order[c] for c in half) >= max(order[c] for c in canary) + 1.0
    assert min(order[c] for c in rest) >= max(order[c] for c in half) + 1.0
    events = await store.list(v1alpha1.Event, NS)
    assert {"RolloutStarted", "WaveStarted", "RolloutComplete"} <= {e.reason for e in events.items}


async def test_max_unavailable_is_never_exceeded(mcs_env: Any) -> None:
    store, _ = mcs_env
    await make_clusters(store, 8, env="dev")
    await create_mcs(store, rollout={"maxUnavailable": 2})

    async def complete() -> bool:
        rollout = (await get_mcs(store)).status.rollout
        return rollout.state == "Complete" and rollout.revision == 1

    await wait(complete)
    await set_template(store, "web-2")
    peak = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        owner = v1alpha1.OwnerRef(kind="MultiClusterService", name="web")
        sets = await servicesets.owned(store, NS, owner)
        updating = [
            s
            for s in sets
            if servicesets.revision_of(s) == 2 and servicesets.summarize(s)[0] != "Deployed"
        ]
        peak = max(peak, len(updating))
        mcs = await get_mcs(store)
        if mcs.status.rollout.state == "Complete" and mcs.status.rollout.revision == 2:
            break
        await asyncio.sleep(0.02)
    assert 1 <= peak <= 2


@pytest.mark.parametrize("on_failure", ["Pause", "Rollback"])
async def test_a_version_that_cannot_become_healthy_stops_the_rollout(
    mcs_env: Any, on_failure: str
) -> None:
    store, _ = mcs_env
    await make_clusters(store, 10, env="dev")
    rollout = {
        "maxUnavailable": 1,
        "onFailure": on_failure,
        "waves": [{"name": "canary", "percent": 20}, {"name": "rest", "percent": 100}],
    }
    await create_mcs(store, rollout=rollout)

    async def complete() -> bool:
        rollout = (await get_mcs(store)).status.rollout
        return rollout.state == "Complete" and rollout.revision == 1

    await wait(complete, timeout=60)
    await set_template(store, "bad")
    expected = "Paused" if on_failure == "Pause" else "RolledBack"

    async def stopped() -> v1alpha1.MultiClusterService | None:
        mcs = await get_mcs(store)
        return mcs if mcs.status.rollout.state == expected else None

    mcs = await wait(stopped, timeout=60)
    assert mcs.status.rollout.failed_wave == "canary"
    assert "Unschedulable" in mcs.status.rollout.message
    await asyncio.sleep(0.5)  # give a wrong controller time to touch later waves
    owner = v1alpha1.OwnerRef(kind="MultiClusterService", name="web")
    sets = {s.spec.cluster: s for s in await servicesets.owned(store, NS, owner)}
    later = [sets[f"c0{i}"] for i in range(2, 10)]
    assert all(servicesets.revision_of(s) == 1 for s in later)
    assert all(s.spec.services[0].template == "web-1" for s in later)
    canary = [sets["c00"], sets["c01"]]
    if on_failure == "Pause":
        assert any(servicesets.revision_of(s) == 2 for s in canary)
        assert "1 failed: Unschedulable (1)" in mcs.status.summary
    else:

        async def back() -> bool:
            s = {x.spec.cluster: x for x in await servicesets.owned(store, NS, owner)}
            return all(s[c].spec.services[0].template == "web-1" for c in ("c00", "c01"))

        await wait(back)
    reasons = {e.reason for e in (await store.list(v1alpha1.Event, NS)).items}
    assert ("RolloutPaused" if on_failure == "Pause" else "RolledBack") in reasons


async def test_deleting_the_mcs_removes_its_servicesets_first(mcs_env: Any) -> None:
    store, _ = mcs_env
    await make_clusters(store, 3, env="dev")
    await create_mcs(store, rollout={"maxUnavailable": "100%"})
    owner = v1alpha1.OwnerRef(kind="MultiClusterService", name="web")

    async def delivered() -> bool:
        return (await get_mcs(store)).status.summary == "3/3 deployed"

    await wait(delivered)
    await store.delete(v1alpha1.MultiClusterService, NS, "web")

    async def gone() -> bool:
        try:
            await get_mcs(store)
        except NotFound:
            return True
        return False

    await wait(gone)
    assert await servicesets.owned(store, NS, owner) == []
