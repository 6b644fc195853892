"""A dry run's view of the store: what it holds now, with a sync's planned writes laid over it.

Admission reads other objects (a cluster's template and credential, the AccessRules, the
users of a template). Checking every object of a commit before writing any of them
(:mod:`orbit.gitops.apply`) needs those reads to see what the same commit creates or changes
earlier in the apply order: a cluster whose template arrives in the same commit. A
:class:`PlannedView` answers ``get`` and ``list`` from the store with the planned objects in
place, reads secrets from the store, and refuses every write: it is only ever read.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeVar

from orbit.api import selectors, v1alpha1
from orbit.store.base import ListResult, ResourceStore, WatchEvent
from orbit.store.objects import not_found
from orbit.store.secrets import SealedSecret, SecretRow

R = TypeVar("R", bound=v1alpha1.Resource)


class PlannedView:
    """``store`` as it will be once every :meth:`plan`-ned object is written."""

    def __init__(self, store: ResourceStore) -> None:
        self._store = store
        self._planned: dict[tuple[str, str, str], v1alpha1.Resource] = {}

    def plan(self, obj: v1alpha1.Resource) -> None:
        """Read ``obj`` (a copy of it) from now on, in place of what the store holds."""
        self._planned[obj.key] = obj.model_copy(deep=True)

    async def get(self, cls: type[R], namespace: str | None, name: str) -> R:
        planned = self._planned.get((cls.KIND, (namespace or "") if cls.NAMESPACED else "", name))
        if planned is None:
            return await self._store.get(cls, namespace, name)
        if not isinstance(planned, cls):
            raise not_found(cls, name)
        return planned.model_copy(deep=True)

    async def list(
        self,
        cls: type[R],
        namespace: str | None = None,
        *,
        selector: selectors.Selector | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult[R]:
        if limit or continue_token:
            raise NotImplementedError("a planned view lists whole kinds only")
        scope = namespace if cls.NAMESPACED else None
        stored = await self._store.list(cls, scope, selector=selector)
        found = {o.key: o for o in stored.items}
        for key, obj in self._planned.items():
            if not isinstance(obj, cls) or (scope is not None and key[1] != scope):
                continue
            if selector is None or selector.matches(obj.metadata.labels):
                found[key] = obj.model_copy(deep=True)
            else:
                found.pop(key, None)  # its planned labels no longer match
        items = sorted(found.values(), key=lambda o: (o.metadata.namespace or "", o.metadata.name))
        return ListResult(items=items, revision=stored.revision)

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

    async def get_secret(self, owner_uid: str, name: str) -> SecretRow | None:
        return await self._store.get_secret(owner_uid, name)

    async def list_secret_names(self, owner_uid: str) -> builtins.list[str]:
        return await self._store.list_secret_names(owner_uid)

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

    async def secret_key_ids(self) -> dict[str, int]:
        return await self._store.secret_key_ids()

    # -- writes: never, this is a dry run ----------------------------------------------------

    async def create(
        self,
        obj: R,
        *,
        secrets: Mapping[str, SealedSecret | None] | None = None,
        uid: str | None = None,
    ) -> R:
        _refuse()

    async def update(
        self, obj: R, *, secrets: Mapping[str, SealedSecret | None] | None = None
    ) -> R:
        _refuse()

    async def update_status(self, obj: R) -> R:
        _refuse()

    async def delete(
        self, cls: type[R], namespace: str | None, name: str, *, resource_version: str | None = None
    ) -> R:
        _refuse()

    async def put_secret(self, owner_uid: str, name: str, sealed: SealedSecret | None) -> None:
        _refuse()

    async def rewrap(self, swaps: Sequence[tuple[SecretRow, SealedSecret]]) -> int:
        _refuse()


def _refuse() -> NoReturn:
    raise RuntimeError("a planned view is read-only: admission must not write")


if TYPE_CHECKING:

    def _conforms(view: PlannedView) -> ResourceStore:
        """mypy proves here that PlannedView satisfies the ResourceStore protocol."""
        return view
