"""Health of live Kubernetes objects, as the delivery engine reports it.

Pure functions over the object dicts a cluster's API returns, so every rule is tested without a
cluster. The rules follow ``kubectl rollout status`` and Flux's kstatus:

- Deployment: the controller has seen the newest generation, every replica runs the newest
  template (``updatedReplicas == replicas``), and the ``Available`` condition is True.
- StatefulSet: ``readyReplicas == replicas``; DaemonSet: ``numberReady ==
  desiredNumberScheduled``; Job: it succeeded (a failed Job says why).
- Pod: Running and Ready, or Succeeded.
- Anything else is healthy once it exists.

Each verdict carries a ``reason`` a person can group a fleet by (``Unschedulable``,
``MinimumReplicasUnavailable``, ``Progressing``, ``BackoffLimitExceeded``...) and a message
that says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

HEALTHY = "Healthy"
PROGRESSING = "Progressing"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
JOB_RUNNING = "JobRunning"
POD_NOT_READY = "PodNotReady"

Obj = Mapping[str, Any]


class Health(NamedTuple):
    """The verdict on one object, or on a whole service (see :func:`summarize`)."""

    healthy: bool
    reason: str
    message: str


OK = Health(True, HEALTHY, "")


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _condition(obj: Obj, type_: str) -> Mapping[str, Any] | None:
    for cond in _status(obj).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return None


def _is_true(cond: Mapping[str, Any] | None) -> bool:
    return cond is not None and cond.get("status") == "True"


def _generation_observed(obj: Obj) -> bool:
    generation = _int((obj.get("metadata") or {}).get("generation"), 0)
    observed = _int(_status(obj).get("observedGeneration"), -1)
    return generation == 0 or observed >= generation


def _waiting_for_controller(kind: str) -> Health:
    return Health(False, PROGRESSING, f"waiting for the {kind} controller to observe the change")


def deployment(obj: Obj) -> Health:
    if not _generation_observed(obj):
        return _waiting_for_controller("Deployment")
    status = _status(obj)
    want = _int(_spec(obj).get("replicas"), 1)
    updated = _int(status.get("updatedReplicas"))
    available_count = _int(status.get("availableReplicas"))
    failure = _condition(obj, "ReplicaFailure")
    if _is_true(failure):
        assert failure is not None
        return Health(
            False,
            str(failure.get("reason") or "ReplicaFailure"),
            str(failure.get("message") or "replicas cannot be created"),
        )
    progressing = _condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == PROGRESS_DEADLINE_EXCEEDED:
        return Health(
            False,
            PROGRESS_DEADLINE_EXCEEDED,
            str(progressing.get("message") or "the rollout made no progress in time"),
        )
    available = _condition(obj, "Available")
    counts = f"{available_count}/{want} replicas available, {updated}/{want} updated"
    if updated < want:
        return Health(False, PROGRESSING, f"rolling out: {counts}")
    if not _is_true(available):
        reason = str((available or {}).get("reason") or MINIMUM_REPLICAS_UNAVAILABLE)
        detail = str((available or {}).get("message") or "")
        return Health(False, reason, f"{counts}{f' ({detail})' if detail else ''}")
    if _int(status.get("replicas"), want) > updated:
        return Health(False, PROGRESSING, f"old replicas are terminating: {counts}")
    return OK


def statefulset(obj: Obj) -> Health:
    if not _generation_observed(obj):
        return _waiting_for_controller("StatefulSet")
    want = _int(_spec(obj).get("replicas"), 1)
    ready = _int(_status(obj).get("readyReplicas"))
    if ready < want:
        return Health(False, PROGRESSING, f"{ready}/{want} replicas ready")
    return OK


def daemonset(obj: Obj) -> Health:
    if not _generation_observed(obj):
        return _waiting_for_controller("DaemonSet")
    status = _status(obj)
    want = _int(status.get("desiredNumberScheduled"))
    ready = _int(status.get("numberReady"))
    if ready < want:
        return Health(False, PROGRESSING, f"{ready}/{want} scheduled pods ready")
    return OK


def job(obj: Obj) -> Health:
    failed = _condition(obj, "Failed")
    if _is_true(failed):
        assert failed is not None
        return Health(
            False, str(failed.get("reason") or "JobFailed"), str(failed.get("message") or "")
        )
    want = _int(_spec(obj).get("completions"), 1)
    succeeded = _int(_status(obj).get("succeeded"))
    if _is_true(_condition(obj, "Complete")) or succeeded >= want:
        return OK
    return Health(False, JOB_RUNNING, f"{succeeded}/{want} completions")


def pod(obj: Obj) -> Health:
    phase = _status(obj).get("phase")
    if phase == "Succeeded" or (phase == "Running" and _is_true(_condition(obj, "Ready"))):
        return OK
    scheduled = _condition(obj, "PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        return Health(
            False,
            str(scheduled.get("reason") or "Unschedulable"),
            str(scheduled.get("message") or "the pod cannot be scheduled"),
        )
    return Health(False, POD_NOT_READY, f"pod is {phase or 'Pending'}")


_RULES: dict[tuple[str, str], Callable[[Obj], Health]] = {
    ("apps", "Deployment"): deployment,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
    ("batch", "Job"): job,
    ("", "Pod"): pod,
}


def evaluate(obj: Obj) -> Health:
    """The health of one live object."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    rule = _RULES.get((group, str(obj.get("kind", ""))))
    return rule(obj) if rule is not None else OK


def summarize(verdicts: Iterable[tuple[str, Health]]) -> Health:
    """One verdict for a service from ``(object description, verdict)`` pairs: healthy when all
    are, else the reason of the first unhealthy object and a message naming each of them."""
    sick = [(what, h) for what, h in verdicts if not h.healthy]
    if not sick:
        return OK
    reason = sick[0][1].reason
    message = "; ".join(f"{what}: {h.message}" if h.message else what for what, h in sick)
    return Health(False, reason, message)
