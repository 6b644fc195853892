"""The NATS JetStream bus: a durable stream of lifecycle events.

- One stream (``Settings.bus.stream``, default ``ORBIT_EVENTS``) on subjects ``orbit.events.>``,
  file storage, created (or its subjects updated) on connect.
- Each publish carries ``Nats-Msg-Id`` = the event's id: a republish (a publisher restarted
  before it recorded its progress) within the duplicate window is dropped by the server.
- Consumers are durable pull consumers; one acked message at a time, in stream order.
- The client reconnects by itself for ever (``max_reconnect_attempts=-1``). While NATS is
  away ``publish`` raises; the relay (:mod:`orbit.bus.publisher`) keeps the event in the
  outbox and retries, so nothing is dropped and nothing needs buffering in memory. The first
  connection is retried the same way (a process may start before NATS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import nats
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from orbit.bus.base import Message
from orbit.bus.events import ALL_SUBJECTS, LifecycleEvent

log = logging.getLogger("orbit.bus")

DUPLICATE_WINDOW = timedelta(minutes=10)


class JetStreamBus:
    def __init__(
        self,
        url: str,
        *,
        stream: str = "ORBIT_EVENTS",
        reconnect_wait: float = 0.5,
        publish_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self._reconnect_wait = reconnect_wait
        self._timeout = publish_timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def publish(self, event: LifecycleEvent) -> None:
        js = await self._context()
        ack = await js.publish(
            event.subject,
            event.to_json(),
            timeout=self._timeout,
            stream=self.stream,
            headers={"Nats-Msg-Id": event.id},
        )
        if ack.duplicate:
            log.debug("Event %s was already on the stream", event.id)

    async def subscribe(
        self,
        subjects: str = ALL_SUBJECTS,
        *,
        durable: str | None = None,
        since: int | None = None,
    ) -> AsyncIterator[Message]:
        js = await self._context()
        config = (
            ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
            if since is None
            else ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=since + 1
            )
        )
        sub = await js.pull_subscribe(subjects, durable=durable, stream=self.stream, config=config)
        try:
            while not self._closed:
                try:
                    msgs = await sub.fetch(50, timeout=1.0)
                except (NatsTimeout, TimeoutError):
                    continue
                except Exception as exc:  # disconnected: the client reconnects by itself
                    log.debug("Fetching from %s failed (%s); retrying", self.stream, exc)
                    await asyncio.sleep(self._reconnect_wait)
                    continue
                for msg in msgs:
                    event = LifecycleEvent.from_json(msg.data)
                    yield Message(event, msg.subject, int(msg.metadata.sequence.stream), msg.ack)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def close(self) -> None:
        self._closed = True
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
            self._nc = None
            self._js = None

    async def _context(self) -> JetStreamContext:
        """Connect (once; retried until it works) and make sure the stream exists."""
        if self._js is not None:
            return self._js
        async with self._lock:
            while self._js is None:
                if self._closed:
                    raise RuntimeError("the bus is closed")
                try:
                    nc = await nats.connect(
                        servers=[self.url],
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=self._reconnect_wait,
                        connect_timeout=2,
                        error_cb=_quiet,
                        disconnected_cb=_disconnected,
                        reconnected_cb=_reconnected,
                    )
                except Exception as exc:
                    log.warning("Cannot reach NATS at %s (%s); retrying", self.url, exc)
                    await asyncio.sleep(self._reconnect_wait)
                    continue
                js = nc.jetstream(timeout=self._timeout)
                await self._ensure_stream(js)
                self._nc, self._js = nc, js
                log.info("Connected to NATS JetStream at %s (stream %s)", self.url, self.stream)
        return self._js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        config = StreamConfig(
            name=self.stream,
            subjects=[ALL_SUBJECTS],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW.total_seconds(),
        )
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(config)
            return
        await js.update_stream(config)


async def _quiet(exc: Exception) -> None:
    log.debug("NATS: %s", exc)


async def _disconnected() -> None:
    log.warning("Disconnected from NATS; reconnecting")


async def _reconnected() -> None:
    log.info("Reconnected to NATS")
