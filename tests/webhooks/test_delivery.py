"""Webhook deliveries: signed, in order, filtered; a receiver down for 30 s gets every event
afterwards while the status shows the failures and then recovers; the secret shows nowhere."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest

from orbit.api import v1alpha1
from orbit.webhooks import verify
from tests.webhooks.conftest import SECRET, Hooks, P, Receiver, create_webhook


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def assert_signed(receiver: Receiver) -> None:
    for got in receiver.got:
        assert verify(
            SECRET.encode(),
            got.body,
            signature=got.headers["x-orbit-signature"],
            timestamp=got.headers["x-orbit-timestamp"],
        ), got.headers
        assert got.headers["x-orbit-event-id"] == got.event["id"]


async def expected_ids(hooks: Hooks, after: int, count: int) -> list[str]:
    """The ids of the ``count`` events stored after revision ``after`` (waiting for them)."""
    found: list[str] = []

    async def stored() -> bool:
        nonlocal found
        entries = await hooks.pipeline.outbox.after(after, namespace="default")
        found = [e.event.id for e in entries]
        return len(found) >= count

    await until(stored, f"{count} events in the outbox")
    assert len(found) == count, found
    return found


async def test_signed_filtered_in_order(hooks: Hooks) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        await create_webhook(
            hooks.api, receiver.url, events={"types": ["orbit.cluster.*"], "subjects": []}
        )
        start = int((await hooks.webhook()).metadata.resource_version or 0)
        for name in ("a", "b"):
            await hooks.happen(name, "Provisioning")
            await hooks.happen(name, "Ready")
        want = await expected_ids(hooks, start, 6)

        async def done() -> bool:
            return len(receiver.got) >= len(want)

        await until(done, "every event delivered")
        assert [g.event["id"] for g in receiver.got] == want
        assert_signed(receiver)

        # The status is written after the receiver answered: it catches up a moment later.
        async def recorded() -> bool:
            status = (await hooks.webhook()).status
            return status is not None and status.last_delivered_id == want[-1]

        await until(recorded, "the last delivery recorded in the status")
        hook = await hooks.webhook()
        assert hook.status is not None
        assert hook.status.consecutive_failures == 0
    finally:
        await receiver.stop()


async def test_filter_skips_other_types(hooks: Hooks) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        await create_webhook(hooks.api, receiver.url, events={"types": ["orbit.cluster.ready"]})
        await hooks.happen("a", "Provisioning")
        await hooks.happen("a", "Ready")

        async def one() -> bool:
            return len(receiver.got) == 1

        await until(one, "the ready event")
        assert receiver.got[0].event["type"] == "orbit.cluster.ready"
    finally:
        await receiver.stop()


async def test_admission_refuses_a_bad_url(hooks: Hooks) -> None:
    body = {"metadata": {"name": "bad"}, "spec": {"url": "ftp://x", "secretRef": {"name": "s"}}}
    refused = await hooks.api.post(f"{P}/namespaces/default/webhooks", json=body)
    assert refused.status_code == 422, refused.text
    assert "spec.url" in refused.text


@pytest.mark.slow
async def test_receiver_down_for_30s_loses_nothing(
    sqlite_hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = sqlite_hooks
    caplog.set_level(logging.DEBUG, logger="orbit")
    receiver = Receiver()
    await receiver.start()
    await create_webhook(hooks.api, receiver.url)
    start = int((await hooks.webhook()).metadata.resource_version or 0)
    await hooks.happen("before", "Provisioning")

    async def first() -> bool:
        return len(receiver.got) == 2  # created, provisioning

    await until(first, "the first deliveries")

    await receiver.stop()
    down = time.monotonic()
    for i in range(5):
        await hooks.happen(f"during-{i}", "Provisioning")
        await hooks.happen("before", f"Step{i}")  # (not a lifecycle reason: filtered out)
        await hooks.happen("before", "Ready" if i % 2 else "Scaling")

    async def failing() -> bool:
        status = (await hooks.webhook()).status
        cond = status and v1alpha1.get_condition(status.conditions, "Ready")
        return bool(
            status
            and status.consecutive_failures >= 2
            and status.pending > 0
            and cond
            and cond.status == "False"
            and cond.reason == "Failing"
            and status.last_error
        )

    await until(failing, "the status to show the failures")
    await asyncio.sleep(max(0.0, 30.0 - (time.monotonic() - down)))
    await receiver.start()

    # created + provisioning of 6 clusters, Ready or Scaling 5 times on one
    want = await expected_ids(hooks, start, 6 * 2 + 5)

    async def everything() -> bool:
        return len(receiver.got) >= len(want)

    await until(everything, "every event after the receiver came back", timeout=90.0)
    assert [g.event["id"] for g in receiver.got] == want  # each once, in order
    assert_signed(receiver)

    async def recovered() -> bool:
        status = (await hooks.webhook()).status
        cond = status and v1alpha1.get_condition(status.conditions, "Ready")
        return bool(
            status
            and status.consecutive_failures == 0
            and status.pending == 0
            and status.last_delivered_id == want[-1]
            and cond
            and cond.status == "True"
        )

    await until(recovered, "the status to recover")
    await receiver.stop()

    # The secret is nowhere: not in API output, the stored objects, Events or the logs.
    for path in ("webhooks/hook", "credentials/hook-secret", "events", "webhooks"):
        shown = await hooks.api.get(f"{P}/namespaces/default/{path}")
        assert shown.status_code == 200 and SECRET not in shown.text
    assert SECRET not in caplog.text
    events = await hooks.store.list(v1alpha1.Event, None)
    assert all(SECRET not in e.model_dump_json() for e in events.items)
