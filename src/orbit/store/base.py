"""The ResourceStore contract: how every other part reads and writes Orbit objects.

The store is kind-agnostic: it keeps each object's JSON body keyed by (kind, namespace, name)
and owns the server-managed metadata, as the Kubernetes API server and etcd do:

- ``uid``, ``creationTimestamp`` are set on create and never change.
- ``resourceVersion`` is a global, strictly increasing revision (one counter for the whole
  store, like etcd's). A write carrying a ``resourceVersion`` that is not the stored one is a
  stale write and raises :class:`orbit.errors.Conflict` (HTTP 409). A write without one is
  unconditional.
- ``generation`` starts at 1 and bumps only when the body outside ``metadata`` and ``status``
  changes (the spec); status writes and metadata edits never bump it.
- ``delete`` of an object with finalizers only sets ``deletionTimestamp``; the object goes away
  when an ``update`` leaves its finalizer list empty. Without finalizers it goes at once.
- Every write appends one entry to the change feed, in revision order; ``watch`` follows it.

Errors: NotFound (object, or the namespace of a namespaced object), AlreadyExists, Conflict,
Gone (watch from a revision older than the feed keeps), Unavailable (database unreachable).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from orbit.api import selectors, v1alpha1

R = TypeVar("R", bound=v1alpha1.Resource)

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True)
class WatchEvent:
    """One entry of the change feed: the object as it was right after the write."""

    type: EventType
    object: v1alpha1.Resource
    revision: int


@dataclass
class ListResult(Generic[R]):
    """A page of a list. ``continue_token`` is set when more items follow."""

    items: list[R]
    revision: int
    continue_token: str | None = None
    remaining: int | None = field(default=None)


class ResourceStore(Protocol):
    async def get(self, cls: type[R], namespace: str | None, name: str) -> R:
        """The stored object; NotFound if absent. ``namespace`` is None for cluster-scoped kinds."""
        ...

    async def list(
        self,
        cls: type[R],
        namespace: str | None = None,
        *,
        selector: selectors.Selector | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult[R]:
        """Objects of a kind, ordered by (namespace, name); all namespaces when ``namespace`` is
        None. ``limit``/``continue_token`` page through the matches (BadRequest on a token that
        does not parse)."""
        ...

    async def create(self, obj: R) -> R:
        """Store a new object; sets uid, creationTimestamp, generation=1, resourceVersion."""
        ...

    async def update(self, obj: R) -> R:
        """Replace metadata (labels, annotations, finalizers) and spec; keeps the stored status.
        Removes the object if it is being deleted and no finalizer is left."""
        ...

    async def update_status(self, obj: R) -> R:
        """Replace only the status (no generation bump)."""
        ...

    async def delete(
        self, cls: type[R], namespace: str | None, name: str, *, resource_version: str | None = None
    ) -> R:
        """Delete, or mark for deletion when finalizers remain. Returns the object's last state
        (with ``deletionTimestamp`` set). NotFound if absent; repeated deletes are harmless."""
        ...

    def watch(
        self,
        kinds: tuple[type[v1alpha1.Resource], ...] = (),
        *,
        namespace: str | None = None,
        since: int | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Follow the change feed for ``kinds`` (all when empty) after revision ``since``
        (from now when None). Runs until the consumer stops iterating. Gone if ``since`` is
        older than the oldest revision the feed keeps."""
        ...

    async def revision(self) -> int:
        """The newest revision written."""
        ...
