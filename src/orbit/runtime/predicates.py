"""Event predicates: which changes of an object are worth a reconcile pass.

controller-runtime filters watch events with predicates (``GenerationChangedPredicate``,
``LabelChangedPredicate``): a controller that only reads an object's spec and labels need not
run when a status write lands. Orbit's change feed carries each object as it was after the
write, not the old and new pair, so a predicate here remembers, per key, the few fields it
compares (a small tuple, not the object) and lets a change through when they differ.

Adds and deletes always pass; so does the first change seen of a key (after a start or a
relist nothing is known). Predicates only thin out wake-ups: relists and resyncs still give
every key its pass, and reconcilers stay level-based, re-reading the store on every pass.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from orbit.api import v1alpha1
from orbit.store.base import WatchEvent

Signature = Callable[[v1alpha1.Resource], Hashable]
Predicate = Callable[[WatchEvent], bool]


class Changed:
    """Passes an event when ``signature(object)`` differs from the last one seen for its key."""

    def __init__(self, signature: Signature) -> None:
        self._signature = signature
        self._seen: dict[tuple[str, str, str], Hashable] = {}

    def __call__(self, event: WatchEvent) -> bool:
        obj = event.object
        key = (obj.KIND, obj.metadata.namespace or "", obj.metadata.name)
        if event.type == "DELETED":
            self._seen.pop(key, None)
            return True
        signature = self._signature(obj)
        previous = self._seen.get(key, _UNSEEN)
        self._seen[key] = signature
        return previous is _UNSEEN or previous != signature


_UNSEEN = object()


def _labels(obj: v1alpha1.Resource) -> Hashable:
    return tuple(sorted(obj.metadata.labels.items()))


def spec_or_labels(obj: v1alpha1.Resource) -> Hashable:
    """Generation (the spec), labels, annotations, and whether deletion has started."""
    meta = obj.metadata
    annotations = tuple(sorted(meta.annotations.items()))
    return (meta.generation, _labels(obj), annotations, meta.deletion_timestamp is not None)


def spec_labels_or_phase(obj: v1alpha1.Resource) -> Hashable:
    """As :func:`spec_or_labels`, plus the status phase (e.g. a cluster becoming Ready)."""
    status = getattr(obj, "status", None)
    return (*spec_or_labels(obj), getattr(status, "phase", None))  # type: ignore[misc]


def generation_changed() -> Changed:
    """controller-runtime's GenerationChanged + LabelChanged: status-only writes are ignored."""
    return Changed(spec_or_labels)


def phase_changed() -> Changed:
    """As :func:`generation_changed`, and also when the status phase moves."""
    return Changed(spec_labels_or_phase)
