"""Pure status computation for ServiceSets: service order, state transitions, the set's Ready
condition and when to look again. No I/O, so every rule is tested without a store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ServiceState, SyncMode
from orbit.delivery.engine import Drift

# Reasons a person (or a fleet summary) groups services by.
CLUSTER_NOT_FOUND = "ClusterNotFound"
CLUSTER_DELETING = "ClusterDeleting"
CLUSTER_NOT_READY = "ClusterNotReady"
CREDENTIAL_NOT_FOUND = "CredentialNotFound"
TEMPLATE_NOT_FOUND = "TemplateNotFound"
WAITING_FOR_DEPENDENCY = "WaitingForDependency"
RENDER_FAILED = "RenderFailed"
SOURCE_UNAVAILABLE = "SourceUnavailable"
OBJECTS_MISSING = "ObjectsMissing"
OBJECTS_CHANGED = "ObjectsChanged"
DEPLOYED = "Deployed"
REMOVING = "Removing"

READY = "Ready"

EventType = Literal["Normal", "Warning"]


def dependency_order(services: Sequence[v1alpha1.Service]) -> list[v1alpha1.Service]:
    """``services`` with each after the ones it depends on, otherwise in spec order. The model
    refuses cycles; a dependency on a service not in the list is ignored here (and reported
    by :func:`blocking_dependency`)."""
    by_name = {s.name: s for s in services}
    done: set[str] = set()
    out: list[v1alpha1.Service] = []

    def visit(svc: v1alpha1.Service, path: tuple[str, ...]) -> None:
        if svc.name in done or svc.name in path:
            return
        for dep in svc.depends_on:
            if dep in by_name:
                visit(by_name[dep], (*path, svc.name))
        done.add(svc.name)
        out.append(svc)

    for svc in services:
        visit(svc, ())
    return out


def blocking_dependency(
    svc: v1alpha1.Service, statuses: dict[str, v1alpha1.ServiceStatus]
) -> tuple[str, str] | None:
    """(dependency, why) for the first dependency of ``svc`` not Deployed and healthy."""
    for dep in svc.depends_on:
        st = statuses.get(dep)
        if st is None:
            return dep, f"service {dep!r} is not in this set"
        if st.state != ServiceState.DEPLOYED or not st.healthy:
            detail = f": {st.reason}" if st.reason else ""
            return dep, f"waiting for service {dep!r} ({st.state.value}{detail})"
    return None


def initial(svc: v1alpha1.Service) -> v1alpha1.ServiceStatus:
    return v1alpha1.ServiceStatus(
        name=svc.name, template=svc.template, namespace=svc.namespace, sync_mode=svc.sync_mode
    )


def with_state(
    st: v1alpha1.ServiceStatus,
    state: ServiceState,
    reason: str = "",
    message: str = "",
    **changes: object,
) -> v1alpha1.ServiceStatus:
    return st.model_copy(update={"state": state, "reason": reason, "message": message, **changes})


def stamp(
    previous: v1alpha1.ServiceStatus | None, new: v1alpha1.ServiceStatus, now: datetime
) -> v1alpha1.ServiceStatus:
    """``new`` with ``lastTransitionTime`` moved only when the state changed."""
    if previous is not None and previous.state == new.state:
        when = previous.last_transition_time or now
    else:
        when = now
    return new.model_copy(update={"last_transition_time": when})


def drift_summary(drift: Iterable[Drift]) -> tuple[str, str]:
    """(reason, message) for drifted objects: ObjectsMissing when any was deleted."""
    items = list(drift)
    reason = OBJECTS_MISSING if any(d.kind == "missing" for d in items) else OBJECTS_CHANGED
    return reason, "; ".join(d.describe() for d in items)


def ready_condition(
    services: Sequence[v1alpha1.ServiceStatus], *, generation: int | None
) -> v1alpha1.Condition:
    """The set's Ready condition: True when every service is Deployed and healthy."""
    total = len(services)
    good = [s for s in services if s.state == ServiceState.DEPLOYED and s.healthy]
    if len(good) == total:
        return v1alpha1.Condition(
            type=READY,
            status="True",
            reason=DEPLOYED,
            message=f"{total}/{total} services deployed",
            observed_generation=generation,
        )
    first = next(s for s in services if s not in good)
    return v1alpha1.Condition(
        type=READY,
        status="False",
        reason=first.reason or first.state.value,
        message=f"{len(good)}/{total} services deployed; {first.name}: "
        f"{first.state.value}{f' ({first.message})' if first.message else ''}",
        observed_generation=generation,
    )


def requeue_after(
    services: Sequence[v1alpha1.ServiceStatus],
    *,
    poll: float,
    retry: float,
    drift: float,
) -> float | None:
    """When to look again: soon while anything moves, later after a failure, every ``drift``
    seconds for drift detection of Continuous services, else never (resync still comes)."""
    delays: list[float] = []
    for st in services:
        if st.state in (ServiceState.PENDING, ServiceState.DEPLOYING, ServiceState.DELETING):
            delays.append(poll)
        elif st.state == ServiceState.FAILED:
            delays.append(retry)
        elif st.state == ServiceState.DEPLOYED and not st.healthy:
            delays.append(poll)
        if st.sync_mode != SyncMode.ONE_TIME:
            delays.append(drift)
    return min(delays) if delays else None


def transition_events(
    prev: v1alpha1.ServiceStatus | None, new: v1alpha1.ServiceStatus
) -> list[tuple[EventType, str, str]]:
    """The Events of a service's change: Deployed on arrival, Failed and Drifted whenever the
    reason or message changes (a repeat of the same one only bumps the Event's count)."""
    moved = prev is None or prev.state != new.state
    changed = moved or prev is None or (prev.reason, prev.message) != (new.reason, new.message)
    if new.state == ServiceState.DEPLOYED and moved:
        objects = len(new.inventory)
        text = f"Service {new.name} deployed from {new.template} ({objects} objects)"
        return [("Normal", "Deployed", text)]
    if new.state == ServiceState.FAILED and changed:
        return [("Warning", "Failed", f"Service {new.name}: {new.reason}: {new.message}")]
    if new.state == ServiceState.DRIFTED and changed:
        return [("Warning", "Drifted", f"Service {new.name} drifted: {new.message}")]
    return []
