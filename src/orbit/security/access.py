"""Where a namespace's references to templates and credentials resolve, and whether its
AccessRules let it use them.

A ClusterDeployment in namespace N names its ClusterTemplate, Credential and ServiceTemplates by
plain name (so do the service lists of ClusterTemplates and MultiClusterServices). A name
resolves to N's own object when N has one (its admins manage it; no rule is needed), else to the
object of that name in the catalog namespace, which N may use only when an AccessRule targeting
N lists it. In the catalog namespace itself every reference is local.

Two entry points, for two moments:

- :func:`resolve` is for controllers: it finds the object a reference means and checks no rule,
  because the reference was checked when admission accepted it. An existing cluster keeps
  working (scales, upgrades its nodes, gets its services, is torn down) after a rule that let
  it in is removed.
- :class:`Policy` with :func:`check` is for admission, when a reference is made or changed: it
  raises :class:`NotAllowed` naming the rules that target the namespace, or
  :class:`~orbit.errors.NotFound` listing what the namespace may use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from orbit.api import v1alpha1
from orbit.errors import NotFound
from orbit.store.base import ResourceStore

R = TypeVar("R", bound=v1alpha1.Resource)

#: The kinds a namespace may use from the catalog namespace under an AccessRule.
SHARED_KINDS: tuple[type[v1alpha1.Resource], ...] = (
    v1alpha1.ClusterTemplate,
    v1alpha1.ServiceTemplate,
    v1alpha1.Credential,
)


class NotAllowed(Exception):
    """A catalog object the namespace's AccessRules do not allow; the message names them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def resolve(
    store: ResourceStore, cls: type[R], namespace: str, name: str, *, catalog_namespace: str
) -> R:
    """The object ``name`` means in ``namespace``: its own, else the catalog namespace's.
    NotFound when neither has it. No AccessRule is consulted."""
    try:
        return await store.get(cls, namespace, name)
    except NotFound:
        if namespace == catalog_namespace:
            raise
    try:
        return await store.get(cls, catalog_namespace, name)
    except NotFound:
        raise NotFound(
            f'{cls.KIND} "{name}" not found in namespace "{namespace}" '
            f'nor in the catalog namespace "{catalog_namespace}"',
            kind=cls.KIND,
            name=name,
        ) from None


@dataclass(frozen=True)
class Policy:
    """What one namespace may use from the catalog: the AccessRules that target it, read once
    per admission."""

    namespace: str
    catalog_namespace: str
    rules: tuple[v1alpha1.AccessRule, ...]

    @classmethod
    async def load(cls, store: ResourceStore, namespace: str, *, catalog_namespace: str) -> Policy:
        if namespace == catalog_namespace:
            return cls(namespace, catalog_namespace, ())
        try:
            ns = await store.get(v1alpha1.Namespace, None, namespace)
            labels = dict(ns.metadata.labels)
        except NotFound:
            labels = {}
        rules = (await store.list(v1alpha1.AccessRule)).items
        targeting = tuple(r for r in rules if r.targets(namespace, labels))
        return cls(namespace, catalog_namespace, targeting)

    @property
    def is_catalog(self) -> bool:
        return self.namespace == self.catalog_namespace

    def allows(self, kind: str, name: str) -> bool:
        """Whether a rule targeting the namespace lets it use catalog object ``kind``/``name``."""
        return self.is_catalog or any(r.allows(kind, name) for r in self.rules)

    def refusal(self, kind: str, name: str) -> str:
        """Why catalog object ``kind``/``name`` may not be used here, naming the rules."""
        head = f'{kind} "{name}" is not allowed in namespace "{self.namespace}"'
        if not self.rules:
            return f'{head}: no AccessRule targets namespace "{self.namespace}"'
        allowed = "; ".join(
            f'AccessRule "{r.metadata.name}" allows '
            + (", ".join(r.patterns(kind)) or f"no {kind}s")
            for r in self.rules
        )
        return f"{head}: {allowed}"


async def check(store: ResourceStore, cls: type[R], name: str, policy: Policy) -> R:
    """The object a new reference means, if the namespace may use it: its own object, or a
    catalog one an AccessRule allows. NotFound (listing what may be used) or NotAllowed."""
    namespace, catalog = policy.namespace, policy.catalog_namespace
    try:
        return await store.get(cls, namespace, name)
    except NotFound:
        pass
    if not policy.is_catalog:
        try:
            shared = await store.get(cls, catalog, name)
        except NotFound:
            pass
        else:
            if policy.allows(cls.KIND, name):
                return shared
            raise NotAllowed(policy.refusal(cls.KIND, name))
    where = f'namespace "{namespace}"'
    if not policy.is_catalog:
        where += f' nor in the catalog namespace "{catalog}"'
    names = ", ".join(await usable(store, cls, policy)) or "none"
    raise NotFound(f'{cls.KIND} "{name}" not found in {where}; available: {names}', kind=cls.KIND)


async def usable(store: ResourceStore, cls: type[R], policy: Policy) -> list[str]:
    """Names of ``cls`` the namespace may reference: its own and the catalog's it is allowed."""
    own = [o.metadata.name for o in (await store.list(cls, policy.namespace)).items]
    if policy.is_catalog:
        return own
    shared = [
        o.metadata.name
        for o in (await store.list(cls, policy.catalog_namespace)).items
        if o.metadata.name not in own and policy.allows(cls.KIND, o.metadata.name)
    ]
    return own + shared


async def referrers(
    store: ResourceStore,
    obj: v1alpha1.Resource,
    cls: type[R],
    uses: Callable[[R], bool],
    *,
    catalog_namespace: str,
) -> list[R]:
    """Objects of ``cls`` that ``uses`` says name ``obj`` and for which that name means ``obj``:
    those of its own namespace and, for a catalog object, those of every namespace without an
    object of that name of its own. What protects a catalog object in use from deletion."""
    namespace, name = obj.metadata.namespace or "", obj.metadata.name
    scope = None if namespace == catalog_namespace else namespace
    candidates = [item for item in (await store.list(cls, scope)).items if uses(item)]
    shadowed: dict[str, bool] = {}
    out = []
    for item in candidates:
        ns = item.metadata.namespace or ""
        if ns != namespace:
            if ns not in shadowed:
                shadowed[ns] = await _exists(store, type(obj), ns, name)
            if shadowed[ns]:
                continue
        out.append(item)
    return out


async def _exists(store: ResourceStore, cls: type[v1alpha1.Resource], ns: str, name: str) -> bool:
    try:
        await store.get(cls, ns, name)
    except NotFound:
        return False
    return True
