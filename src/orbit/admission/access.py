"""References from an object under admission to templates and credentials, checked against the
AccessRules of its namespace (:mod:`orbit.security.access` holds the rules' meaning).

A reference that is new (a create, or a change to another name) must resolve to the
namespace's own object or to a catalog object an AccessRule allows; otherwise the refusal is a
:class:`~orbit.errors.Cause` on the field that holds it. A reference that is unchanged is only
resolved, so an object admitted under a rule stays editable after the rule goes. The rules are
read at most once per admission, and only when some reference is new.
"""

from __future__ import annotations

from typing import TypeVar

from orbit.api import v1alpha1
from orbit.errors import Cause, NotFound
from orbit.security import access
from orbit.store.base import ResourceStore

R = TypeVar("R", bound=v1alpha1.Resource)


class References:
    """Resolves the references of one object in ``namespace``."""

    def __init__(self, store: ResourceStore, namespace: str, *, catalog_namespace: str) -> None:
        self._store = store
        self.namespace = namespace
        self.catalog_namespace = catalog_namespace
        self._policy: access.Policy | None = None

    async def policy(self) -> access.Policy:
        if self._policy is None:
            self._policy = await access.Policy.load(
                self._store, self.namespace, catalog_namespace=self.catalog_namespace
            )
        return self._policy

    async def get(self, cls: type[R], name: str, *, field: str, new: bool) -> R | Cause:
        """The object ``name`` means, or the Cause on ``field`` why it cannot be used. ``new``:
        the reference is being made now, so the AccessRules must allow it."""
        if not new:
            try:
                return await access.resolve(
                    self._store, cls, self.namespace, name, catalog_namespace=self.catalog_namespace
                )
            except NotFound:
                pass  # gone since it was admitted: say what is available
        try:
            return await access.check(self._store, cls, name, await self.policy())
        except access.NotAllowed as err:
            return Cause(field, err.message, "FieldValueForbidden")
        except NotFound as err:
            return Cause(field, err.message, "FieldValueNotFound")
