"""Kind-agnostic controller machinery: controller-runtime's shape, in asyncio.

A :class:`Controller` turns a kind's change feed into :class:`Request` keys on a
:class:`WorkQueue` and drains it with N workers calling a :class:`Reconciler`; a
:class:`Manager` runs controllers and background jobs; an :class:`EventRecorder` writes Events.
Controllers for each kind live in ``orbit.controllers`` and import from here.
"""

from __future__ import annotations

from orbit.runtime.controller import Controller, ControllerStats
from orbit.runtime.events import EventRecorder, collect_events, event_name
from orbit.runtime.manager import Manager
from orbit.runtime.queue import ExponentialBackoff, ShutDown, WorkQueue
from orbit.runtime.reconcile import (
    Reconciler,
    Request,
    Result,
    TerminalError,
    Watch,
    log_fields,
    reconcile_id,
)

__all__ = [
    "Controller",
    "ControllerStats",
    "EventRecorder",
    "ExponentialBackoff",
    "Manager",
    "Reconciler",
    "Request",
    "Result",
    "ShutDown",
    "TerminalError",
    "Watch",
    "WorkQueue",
    "collect_events",
    "event_name",
    "log_fields",
    "reconcile_id",
]
