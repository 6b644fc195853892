"""The Manager: runs a process's controllers and background jobs, and stops them gracefully.

Like controller-runtime's manager it owns lifecycles, not logic: ``start`` launches every
controller and runnable as tasks; a runnable that crashes is logged and restarted with
exponential backoff (a background job must never silently stop); ``stop`` stops taking work,
gives in-flight reconcile passes a grace period, then cancels what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from orbit.runtime.controller import Controller
from orbit.runtime.queue import ExponentialBackoff
from orbit.store.base import ResourceStore

logger = logging.getLogger("orbit.runtime")

RunnableFactory = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class _Runnable:
    name: str
    factory: RunnableFactory
    interval: float | None


class Manager:
    """Starts and stops a set of controllers and background runnables together."""

    def __init__(
        self,
        *,
        store: ResourceStore,
        restart_base_delay: float = 1.0,
        restart_max_delay: float = 60.0,
    ) -> None:
        self.store = store
        self._controllers: list[Controller] = []
        self._runnables: list[_Runnable] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._restart_base_delay = restart_base_delay
        self._restart_max_delay = restart_max_delay
        self._started = False

    @property
    def controllers(self) -> tuple[Controller, ...]:
        return tuple(self._controllers)

    @property
    def ready(self) -> bool:
        """True once every controller has listed its kind (its initial work is queued)."""
        return self._started and all(c.synced for c in self._controllers)

    async def wait_ready(self) -> None:
        await asyncio.gather(*(c.wait_synced() for c in self._controllers))

    def add(self, controller: Controller) -> Controller:
        if self._started:
            raise RuntimeError("add controllers before the manager starts")
        if any(c.name == controller.name for c in self._controllers):
            raise ValueError(f"a controller named {controller.name!r} is already added")
        self._controllers.append(controller)
        return controller

    def add_runnable(
        self, name: str, factory: RunnableFactory, *, interval: float | None = None
    ) -> None:
        """Run ``factory()`` in the background: once (a long-lived loop, restarted if it
        crashes) or, with ``interval``, again every ``interval`` seconds after it finishes."""
        if self._started:
            raise RuntimeError("add runnables before the manager starts")
        if interval is not None and interval <= 0:
            raise ValueError("interval must be positive")
        self._runnables.append(_Runnable(name, factory, interval))

    async def start(self) -> None:
        """Start every controller and runnable; returns at once (see ``ready``)."""
        if self._started:
            raise RuntimeError("the manager was already started")
        self._started = True
        logger.info(
            "Starting manager: %d controllers, %d runnables",
            len(self._controllers),
            len(self._runnables),
        )
        for controller in self._controllers:
            await controller.start()
        self._tasks = [
            asyncio.create_task(self._supervise(r), name=f"runnable-{r.name}")
            for r in self._runnables
        ]

    # A grace period, not a deadline for the call: passes get `timeout`, then are cancelled.
    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop runnables, then stop controllers (in-flight passes get ``timeout`` seconds)."""
        if not self._started:
            return
        logger.info("Stopping manager (grace period %.1fs)", timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.gather(*(c.stop(timeout) for c in self._controllers))
        logger.info("Manager stopped")

    async def __aenter__(self) -> Manager:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _supervise(self, runnable: _Runnable) -> None:
        loop = asyncio.get_running_loop()
        backoff: ExponentialBackoff[str] = ExponentialBackoff(
            base_delay=self._restart_base_delay, max_delay=self._restart_max_delay
        )
        fields = {"runnable": runnable.name}
        while True:
            started = loop.time()
            try:
                logger.debug("Running %s", runnable.name, extra=fields)
                await runnable.factory()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A long-lived job that ran a good while before failing starts its backoff over.
                if loop.time() - started > self._restart_max_delay:
                    backoff.forget(runnable.name)
                delay = backoff.when(runnable.name)
                logger.exception(
                    "Runnable %s crashed; restarting in %.1fs", runnable.name, delay, extra=fields
                )
                await asyncio.sleep(delay)
                continue
            backoff.forget(runnable.name)
            if runnable.interval is None:
                logger.info("Runnable %s finished", runnable.name, extra=fields)
                return
            await asyncio.sleep(runnable.interval)
