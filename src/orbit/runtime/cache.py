"""An informer cache: reads of chosen kinds served from memory, fed by the change feed.

controller-runtime's manager hands reconcilers a client whose reads come from a watch-fed
cache, so a reconcile pass reads templates, credentials and clusters for free. :class:`CachedStore`
is that client here: a :class:`~orbit.store.base.ResourceStore` whose ``get`` and (unpaged)
``list`` of the cached kinds answer from memory; every other call, and every write, goes to
the store, which stays the source of truth.

Freshness: the cache lists each kind once, then applies the changes the store's feed reader
holds in memory (:meth:`orbit.store.sql.SqlStore.buffered_changes`) before every read, so it is
never older than any watch event this process has handed a controller: a pass woken by a
change reads at least that change. Writes made through it are written through into the cache
(newer revision wins), so a pass reads its own writes before the feed reader has polled
them. Other processes' writes arrive as their changes are polled, as with any informer; a
stale read costs a Conflict on a conditional write, retried with backoff, never a lost write.
When the feed reader no longer reaches back to the cache's revision, the cache lists again.

Lists by label (a MultiClusterService's ServiceSets, say) use an index from each label pair to
the objects carrying it, so their cost follows the matches, not the kind's size: with 2,500
ServiceSets in a namespace, scanning them all on every rollout pass was half the delivery
benchmark's time.

Every ``get`` and ``list`` decodes a fresh object the caller may change. A pass that only
reads a list, and reads it on every wake (a rollout reading its clusters and ServiceSets),
uses :func:`list_shared` instead: objects decoded once per version and shared with the cache,
which the caller must not change (controller-runtime's cache hands out shared objects the same
way). At 100 rollouts over 100 clusters, decoding those lists was half the delivery
benchmark's time.

A store without ``buffered_changes`` (a test double) is passed through uncached.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from orbit.api import selectors, v1alpha1
from orbit.store.base import ListResult, ResourceStore, WatchEvent
from orbit.store.objects import not_found
from orbit.store.secrets import SealedSecret, SecretRow

R = TypeVar("R", bound=v1alpha1.Resource)

_PAGE = 500

Key = tuple[str, str]  # (namespace, name); "" for cluster-scoped kinds


@dataclass(slots=True)
class _Entry:
    """One cached object, kept as JSON: decoding it is several times cheaper than a deep copy,
    and every reader gets its own object to change. ``shared`` is the one decoded object
    :func:`list_shared` hands out for this version, made at its first such read."""

    revision: int
    labels: dict[str, str]
    text: str
    shared: v1alpha1.Resource | None = None

    @classmethod
    def of(cls, obj: v1alpha1.Resource) -> _Entry:
        text = obj.model_dump_json(by_alias=True, exclude_none=True)
        return cls(_rv(obj), dict(obj.metadata.labels), text)

    def decoded(self, cls: type[R]) -> R:
        if self.shared is None:
            self.shared = cls.model_validate_json(self.text)
        return cast(R, self.shared)


class _Kind:
    """The cached objects of one kind, with an index from each label pair to their keys."""

    def __init__(self) -> None:
        self.entries: dict[Key, _Entry] = {}
        self._by_label: dict[tuple[str, str], set[Key]] = {}

    def get(self, key: Key) -> _Entry | None:
        return self.entries.get(key)

    def put(self, key: Key, entry: _Entry) -> None:
        self.pop(key)
        self.entries[key] = entry
        for pair in entry.labels.items():
            self._by_label.setdefault(pair, set()).add(key)

    def pop(self, key: Key) -> None:
        old = self.entries.pop(key, None)
        if old is None:
            return
        for pair in old.labels.items():
            keys = self._by_label.get(pair)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_label[pair]

    def select(self, namespace: str | None, selector: selectors.Selector | None) -> list[_Entry]:
        """The entries in ``namespace`` (None: all) matching ``selector``, in key order."""
        # Start from the smallest set an equality requirement allows; match everything after.
        keys: Collection[Key] = self.entries.keys()
        for req in selector.requirements if selector else ():
            if req.operator in ("=", "in"):
                found: set[Key] = set()
                for value in req.values:
                    found |= self._by_label.get((req.key, value), set())
                if len(found) < len(keys):
                    keys = found
        chosen: list[tuple[Key, _Entry]] = []
        for key in keys:
            if namespace is not None and key[0] != namespace:
                continue
            entry = self.entries[key]
            if selector and not selector.matches(entry.labels):
                continue
            chosen.append((key, entry))
        chosen.sort(key=lambda pair: pair[0])
        return [entry for _, entry in chosen]


class _Buffered(Protocol):
    def buffered_changes(self, since: int) -> tuple[list[WatchEvent], int] | None: ...

    async def follow_changes(self) -> None: ...

    async def caught_up_with_own_writes(self) -> bool: ...


class CachedStore:
    """A ResourceStore reading ``kinds`` from memory; see the module docstring."""

    def __init__(
        self,
        store: ResourceStore,
        kinds: Iterable[type[v1alpha1.Resource]],
        *,
        read_own_writes: bool = False,
    ) -> None:
        """``read_own_writes``: every read first waits (briefly) until the feed reader has
        read every write this process made through any path, not only through this cache,
        and starts the reader if no watcher did (the API's authorization cache: a binding
        created by a request applies to the next one). Off for controllers: a stale read
        costs them a conflict and a retry, and their many writes would make reads wait."""
        kinds = tuple(kinds)
        self._read_own_writes = read_own_writes
        self._store = store
        self._kinds = {k.KIND for k in kinds}
        self._feed = cast(_Buffered, store) if hasattr(store, "buffered_changes") else None
        self._objects: dict[str, _Kind] = {k: _Kind() for k in self._kinds}
        self._revision: int | None = None  # None: not listed yet (or must list again)
        self._kind_classes = {k.KIND: k for k in kinds}
        self._listing = asyncio.Lock()

    @property
    def store(self) -> ResourceStore:
        """The store behind the cache."""
        return self._store

    # -- the cache -----------------------------------------------------------------------

    async def _fresh(self, kind: str) -> _Kind | None:
        """The cached objects of ``kind``, caught up with the feed; None: read the store."""
        if kind not in self._kinds or self._feed is None:
            return None
        if self._read_own_writes and not await self._feed.caught_up_with_own_writes():
            if self._revision is not None:
                return None  # the reader lags this process's writes: read the store this time
            await self._feed.follow_changes()
        self._catch_up()
        if self._revision is None:
            async with self._listing:  # one list for every pass that found the cache empty
                if self._revision is None:
                    await self._list_all()
            # Caught up again after the list, ours or another pass's: a change this pass was
            # handed may have arrived while the list ran.
            self._catch_up()
            if self._revision is None:
                return None
        return self._objects[kind]

    def _catch_up(self) -> None:
        """Apply the changes the feed reader holds after our revision (no I/O); when it no
        longer reaches back that far, forget the revision, so the next read lists again."""
        if self._revision is None or self._feed is None:
            return
        caught = self._feed.buffered_changes(self._revision)
        if caught is None:
            self._revision = None
            return
        events, revision = caught
        for event in events:
            self._apply(event)
        self._revision = revision

    async def _list_all(self) -> None:
        """List every cached kind; the feed then continues from the first list's revision
        (changes after it replay onto the lists, newer-wins per object)."""
        start = await self._store.revision()
        # A watcher starts the feed reader, whose buffer then brings us every later change.
        if self._feed is None or self._feed.buffered_changes(start) is None:
            return
        objects: dict[str, _Kind] = {k: _Kind() for k in self._kinds}
        for kind, cls in self._kind_classes.items():
            token: str | None = None
            while True:
                page = await self._store.list(cls, None, limit=_PAGE, continue_token=token)
                for obj in page.items:
                    objects[kind].put(_key(obj), _Entry.of(obj))
                token = page.continue_token
                if not token:
                    break
        self._objects = objects
        self._revision = start

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object
        held = self._objects.get(obj.KIND)
        if held is None:
            return
        key = _key(obj)
        current = held.get(key)
        if current is not None and current.revision > event.revision:
            return  # written through already with something newer
        if event.type == "DELETED":
            held.pop(key)
        else:
            held.put(key, _Entry.of(obj))

    def _write_through(self, obj: R) -> R:
        held = self._objects.get(obj.KIND)
        if held is not None and self._revision is not None:
            key = _key(obj)
            current = held.get(key)
            gone = obj.metadata.deletion_timestamp is not None and not obj.metadata.finalizers
            if not gone and (current is None or current.revision < _rv(obj)):
                held.put(key, _Entry.of(obj))
        return obj

    # -- reads ---------------------------------------------------------------------------

    async def get(self, cls: type[R], namespace: str | None, name: str) -> R:
        held = await self._fresh(cls.KIND)
        if held is None:
            return await self._store.get(cls, namespace, name)
        entry = held.get(((namespace or "") if cls.NAMESPACED else "", name))
        if entry is None:
            raise not_found(cls, name)
        return cls.model_validate_json(entry.text)

    async def list(
        self,
        cls: type[R],
        namespace: str | None = None,
        *,
        selector: selectors.Selector | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult[R]:
        held = None if limit or continue_token else await self._selected(cls, namespace, selector)
        if held is None or self._revision is None:
            return await self._store.list(
                cls, namespace, selector=selector, limit=limit, continue_token=continue_token
            )
        items = [cls.model_validate_json(e.text) for e in held]
        return ListResult(items=items, revision=self._revision)

    async def list_shared(
        self,
        cls: type[R],
        namespace: str | None = None,
        *,
        selector: selectors.Selector | None = None,
    ) -> builtins.list[R]:
        """As :meth:`list`, but the objects are shared with the cache: never change one."""
        held = await self._selected(cls, namespace, selector)
        if held is None:
            return (await self._store.list(cls, namespace, selector=selector)).items
        return [e.decoded(cls) for e in held]

    async def _selected(
        self, cls: type[R], namespace: str | None, selector: selectors.Selector | None
    ) -> builtins.list[_Entry] | None:
        """The cached entries an unpaged list selects, or None when the kind is not cached."""
        held = await self._fresh(cls.KIND)
        if held is None or self._revision is None:
            return None
        return held.select(namespace if cls.NAMESPACED else None, selector)

    def watch(
        self,
        kinds: tuple[type[v1alpha1.Resource], ...] = (),
        *,
        namespace: str | None = None,
        since: int | None = None,
    ) -> AsyncIterator[WatchEvent]:
        return self._store.watch(kinds, namespace=namespace, since=since)

    async def revision(self) -> int:
        return await self._store.revision()

    # -- writes: to the store, then into the cache ---------------------------------------

    async def create(
        self,
        obj: R,
        *,
        secrets: Mapping[str, SealedSecret | None] | None = None,
        uid: str | None = None,
    ) -> R:
        return self._write_through(await self._store.create(obj, secrets=secrets, uid=uid))

    async def update(
        self, obj: R, *, secrets: Mapping[str, SealedSecret | None] | None = None
    ) -> R:
        return self._write_through(await self._store.update(obj, secrets=secrets))

    async def update_status(self, obj: R) -> R:
        return self._write_through(await self._store.update_status(obj))

    async def delete(
        self, cls: type[R], namespace: str | None, name: str, *, resource_version: str | None = None
    ) -> R:
        deleted = await self._store.delete(cls, namespace, name, resource_version=resource_version)
        return self._write_through(deleted)

    # -- secrets: never cached -----------------------------------------------------------

    async def get_secret(self, owner_uid: str, name: str) -> SecretRow | None:
        return await self._store.get_secret(owner_uid, name)

    async def list_secret_names(self, owner_uid: str) -> builtins.list[str]:
        return await self._store.list_secret_names(owner_uid)

    async def put_secret(self, owner_uid: str, name: str, sealed: SealedSecret | None) -> None:
        await self._store.put_secret(owner_uid, name, sealed)

    async def secret_rows(
        self,
        *,
        exclude_key_id: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> builtins.list[SecretRow]:
        return await self._store.secret_rows(
            exclude_key_id=exclude_key_id, after=after, limit=limit
        )

    async def rewrap(self, swaps: Sequence[tuple[SecretRow, SealedSecret]]) -> int:
        return await self._store.rewrap(swaps)

    async def secret_key_ids(self) -> dict[str, int]:
        return await self._store.secret_key_ids()


async def list_shared(
    store: ResourceStore,
    cls: type[R],
    namespace: str | None = None,
    *,
    selector: selectors.Selector | None = None,
) -> list[R]:
    """Objects to read and not change: shared with ``store``'s cache when it is a
    :class:`CachedStore` (decoded once per version), else a plain list's."""
    if isinstance(store, CachedStore):
        return await store.list_shared(cls, namespace, selector=selector)
    return (await store.list(cls, namespace, selector=selector)).items


def _key(obj: v1alpha1.Resource) -> Key:
    return (obj.metadata.namespace or "", obj.metadata.name)


def _rv(obj: v1alpha1.Resource) -> int:
    return int(obj.metadata.resource_version or 0)


if TYPE_CHECKING:

    def _conforms(store: CachedStore) -> ResourceStore:
        """mypy proves here that CachedStore satisfies the ResourceStore protocol."""
        return store
