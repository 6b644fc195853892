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

- Sealed secrets (``orbit.store.secrets``) belong to an object by its ``uid`` and a name:
  written in the same transaction as the object (``secrets=`` on create and update), removed
  with it. The store only ever sees them sealed (``orbit.crypto`` seals and opens).

Errors: NotFound (object, or the namespace of a namespaced object), AlreadyExists, Conflict,
Gone (watch from a revision older than the feed keeps), Unavailable (database unreachable).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from orbit.api import selectors, v1alpha1
from orbit.store.secrets import SealedSecret, SecretRow

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

    async def create(
        self,
        obj: R,
        *,
        secrets: Mapping[str, SealedSecret | None] | None = None,
        uid: str | None = None,
    ) -> R:
        """Store a new object; sets uid, creationTimestamp, generation=1, resourceVersion.
        ``secrets``: sealed values to keep for it by name, in the same transaction (they were
        sealed for ``uid``, which the object then gets instead of a fresh one)."""
        ...

    async def update(
        self, obj: R, *, secrets: Mapping[str, SealedSecret | None] | None = None
    ) -> R:
        """Replace metadata (labels, annotations, finalizers) and spec; keeps the stored status.
        Removes the object if it is being deleted and no finalizer is left. ``secrets``: sealed
        values to write (None: remove that name) in the same transaction; if any row changes,
        that is a write of the object even when nothing else changed (generation bumps)."""
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

    async def get_secret(self, owner_uid: str, name: str) -> SecretRow | None:
        """The sealed secret ``name`` of the object ``owner_uid``; None if there is none."""
        ...

    async def list_secret_names(self, owner_uid: str) -> builtins.list[str]:
        """The names of the object's secrets, sorted."""
        ...

    async def put_secret(self, owner_uid: str, name: str, sealed: SealedSecret | None) -> None:
        """Write (or remove, None) one secret of an existing object without writing the object
        (a cache such as a cluster's kubeconfig). NotFound if no object has ``owner_uid``."""
        ...

    async def secret_rows(
        self,
        *,
        exclude_key_id: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> builtins.list[SecretRow]:
        """A page of secret rows in (owner_uid, name) order after ``after``, skipping rows
        sealed under ``exclude_key_id`` (re-encryption pages through the others)."""
        ...

    async def rewrap(self, swaps: Sequence[tuple[SecretRow, SealedSecret]]) -> int:
        """Replace each row by its re-sealed value, in one transaction, unless the row changed
        since it was read (that newer value stays); returns how many were replaced."""
        ...

    async def secret_key_ids(self) -> dict[str, int]:
        """How many secret rows each key-encryption key id wraps."""
        ...
