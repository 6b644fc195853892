"""The lifecycle event pipeline over a whole Orbit Plane minus HTTP (the controllers' test
fleet: real store, sim plane, every controller), plus helpers to follow the outbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from orbit.bus import Bus, InProcessBus, Notifier, Outbox, Publisher, Relay
from orbit.store import SqlStore
from tests.controllers.conftest import Fleet, fleet, sim_clock, sim_settings

__all__ = ["Fleet", "Pipeline", "fleet", "pipeline", "sim_clock", "sim_settings"]


@dataclass
class Pipeline:
    outbox: Outbox
    bus: Bus
    notifier: Notifier
    publisher: Publisher


@contextlib.asynccontextmanager
async def running_pipeline(store: SqlStore, bus: Bus) -> AsyncIterator[Pipeline]:
    """Publisher and relay as the server runs them (tasks instead of manager runnables)."""
    outbox = Outbox(store.engine)
    notifier = Notifier()
    publisher = Publisher(store, outbox, notifier=notifier, idle=0.2)
    relay = Relay(outbox, bus, notifier=notifier, poll=0.2, retry_max=0.5)
    tasks = [asyncio.create_task(publisher.run()), asyncio.create_task(relay.run())]
    try:
        yield Pipeline(outbox, bus, notifier, publisher)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def pipeline(store: SqlStore) -> AsyncIterator[Pipeline]:
    bus = InProcessBus()
    async with running_pipeline(store, bus) as found:
        yield found
    await bus.close()
