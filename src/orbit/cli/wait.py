"""``--wait``: poll an object until it settles or is gone, showing progress as it changes.

A ClusterDeployment has settled when ``status.observedGeneration == metadata.generation`` and
its phase is Ready (success) or Failed (failure, with the Ready condition's message); a deleted
object is gone when GET answers 404. Polling, not watching: one GET a second costs nothing and
survives server restarts and expired watch revisions without any recovery logic. The clock and
sleep are parameters so tests can drive the loop without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from rich.text import Text

from orbit.api import v1alpha1
from orbit.cli import columns, output
from orbit.cli.context import CliError
from orbit.client import NotFoundError, OrbitClient

POLL_SECONDS = 1.0


@dataclass
class Waiter:
    """How to wait: poll interval, clock and sleep (swappable in tests), where progress goes."""

    poll: float = POLL_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    show: Callable[[str], None] = field(default=lambda text: show_progress(text))


def show_progress(text: str) -> None:
    output.console().print(Text(text, style="cyan"))


def summary(obj: v1alpha1.ClusterDeployment) -> str:
    """``phase Provisioning, 1/3 nodes ready``: the state a timeout message reports."""
    nodes = obj.status.nodes
    return f"phase {columns.cluster_phase(obj)}, {nodes.ready}/{nodes.total} nodes ready"


def progress(obj: v1alpha1.ClusterDeployment) -> str:
    """The line printed whenever it changes: phase, nodes, versions, message."""
    nodes = obj.status.nodes
    text = f"{columns.cluster_phase(obj)}, {nodes.ready}/{nodes.total} nodes ready"
    if nodes.versions:
        text += ", " + ", ".join(f"{v} x{n}" for v, n in sorted(nodes.versions.items()))
    elif obj.status.kubernetes_version:
        text += f", {obj.status.kubernetes_version}"
    if obj.status.message:
        text += f": {obj.status.message}"
    return text


def failure_message(obj: v1alpha1.ClusterDeployment) -> str:
    for kind in (v1alpha1.ConditionType.READY, v1alpha1.ConditionType.STALLED):
        cond = v1alpha1.get_condition(obj.status.conditions, kind)
        if cond is not None and cond.status != "True" and cond.message:
            return cond.message
    return obj.status.message or "no reason given"


def outcome(obj: v1alpha1.ClusterDeployment) -> str | None:
    """'ready' or 'failed' once the cluster has settled on its current spec, else None."""
    generation = obj.metadata.generation
    observed = obj.status.observed_generation == generation
    if obj.status.phase is v1alpha1.Phase.READY and observed:
        return "ready"
    if obj.status.phase is v1alpha1.Phase.FAILED:
        # A controller may record failure on the Ready/Stalled condition without bumping
        # observedGeneration; either says this spec was tried and failed.
        conds = (
            v1alpha1.get_condition(obj.status.conditions, t)
            for t in (v1alpha1.ConditionType.READY, v1alpha1.ConditionType.STALLED)
        )
        if observed or any(c is not None and c.observed_generation == generation for c in conds):
            return "failed"
    return None


def until_settled(
    client: OrbitClient,
    name: str,
    *,
    namespace: str,
    timeout: timedelta,
    timeout_text: str,
    waiter: Waiter | None = None,
) -> v1alpha1.ClusterDeployment:
    """Return the cluster once Ready on its current generation; CliError when it fails, is
    deleted, or the timeout passes."""
    waiter = waiter or Waiter()
    deadline = waiter.clock() + timeout.total_seconds()
    shown = None
    while True:
        try:
            obj = client.get(v1alpha1.ClusterDeployment, name, namespace=namespace)
        except NotFoundError:
            raise CliError(f"cluster {name} was deleted while waiting for it") from None
        line = progress(obj)
        if line != shown:
            waiter.show(f"cluster {name}: {line}")
            shown = line
        match outcome(obj):
            case "ready":
                return obj
            case "failed":
                raise CliError(f"cluster {name} failed: {failure_message(obj)}")
        left = deadline - waiter.clock()
        if left <= 0:
            raise CliError(
                f"timed out after {timeout_text} waiting for cluster {name}: {summary(obj)}"
            )
        waiter.sleep(min(waiter.poll, left))


def until_deleted(
    client: OrbitClient,
    cls: type[v1alpha1.Resource],
    name: str,
    *,
    namespace: str,
    timeout: timedelta,
    timeout_text: str,
    waiter: Waiter | None = None,
) -> None:
    """Return once GET answers 404; CliError when the timeout passes first."""
    waiter = waiter or Waiter()
    deadline = waiter.clock() + timeout.total_seconds()
    shown = None
    while True:
        try:
            obj = client.get(cls, name, namespace=namespace)
        except NotFoundError:
            return
        if isinstance(obj, v1alpha1.ClusterDeployment):
            line, state = progress(obj), summary(obj)
        else:
            line = state = f"waiting for finalizers: {', '.join(obj.metadata.finalizers) or '-'}"
        if line != shown:
            waiter.show(f"{obj.SINGULAR} {name}: {line}")
            shown = line
        left = deadline - waiter.clock()
        if left <= 0:
            raise CliError(
                f"timed out after {timeout_text} waiting for {obj.SINGULAR} {name} "
                f"to be deleted: {state}"
            )
        waiter.sleep(min(waiter.poll, left))
