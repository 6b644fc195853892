"""The reconcile contract (controller-runtime's ``pkg/reconcile``): what a reconciler is given,
what it may answer, and the log fields every pass carries.

A :class:`Request` is identity only; the reconciler re-reads the object on every pass (level,
not edge). It answers :class:`Result` (optionally ``requeue_after``), raises any exception for
a transient failure (retried with backoff), or raises :class:`TerminalError` when retrying
cannot help. :func:`log_fields` and :data:`reconcile_id` let a reconciler's own log lines carry
the same structured fields as the runtime's.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from orbit.api import v1alpha1
from orbit.store.base import WatchEvent

#: The id of the reconcile pass running in this task (None outside a pass), for reconcilers'
#: own log lines; see :func:`log_fields`.
reconcile_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "orbit_reconcile_id", default=None
)


@dataclass(frozen=True)
class Request:
    """Which object to reconcile: identity only, never state (re-read it from the store).
    ``namespace`` is "" for cluster-scoped kinds, as in :attr:`Resource.key`."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def for_object(cls, obj: v1alpha1.Resource) -> Request:
        kind, namespace, name = obj.key
        return cls(kind, namespace, name)

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class Result:
    """A pass that succeeded; ``requeue_after`` asks for another look that many seconds later."""

    requeue_after: float | None = None


class TerminalError(Exception):
    """A failure retrying cannot fix; the reconciler has recorded a ``Stalled`` condition."""


class Reconciler(Protocol):
    async def reconcile(self, request: Request) -> Result: ...


@dataclass(frozen=True)
class Watch:
    """Enqueue the requests ``map`` returns whenever an object of ``kind`` changes (and, with
    a ``predicate`` (:mod:`orbit.runtime.predicates`), only changes it lets through).

    ``delay`` coalesces: the request is enqueued that many seconds after the change, and every
    change meanwhile joins the same pending pass (a rollout woken by each of its hundred
    ServiceSets' status writes makes a few passes, not a hundred)."""

    kind: type[v1alpha1.Resource]
    map: Callable[[v1alpha1.Resource], Iterable[Request]]
    predicate: Callable[[WatchEvent], bool] | None = None
    delay: float = 0.0


def log_fields(controller: str, request: Request, rid: str | None = None) -> dict[str, str]:
    """The structured fields of a log line about one object (``name`` is reserved by
    :mod:`logging`, hence ``object_name``)."""
    return {
        "controller": controller,
        "kind": request.kind,
        "namespace": request.namespace,
        "object_name": request.name,
        "reconcile_id": rid or reconcile_id.get() or "",
    }
