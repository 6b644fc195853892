"""Roles and the decision "may this identity do this?" (k0rdent's five roles, fixed by Orbit).

A :class:`Permission` is a verb on a resource in a namespace (None for a cluster-scoped
resource or a request across every namespace). Resources are kind plurals
(``clusterdeployments``), subresources (``clusterdeployments/status``,
``clusterdeployments/proxy``, ``clusterdeployments/kubeconfig``) and a few non-resources
(``audit``, ``tokens`` for managing other users' tokens, ``admin`` for key rotation).

What each role grants is :data:`RULES`, one table, also printed in docs/security.md:

- ``global-admin``: everything.
- ``global-viewer``: read everything, everywhere (secrets are never readable by anyone).
- ``namespace-admin``: every verb on the namespaced kinds of its namespace (but ServiceSets,
  which controllers write), the AccessPoint, and reading its Namespace object.
- ``namespace-editor``: reads, plus writing ClusterDeployments and MultiClusterServices, and
  the AccessPoint with every verb.
- ``namespace-viewer``: reads, and the AccessPoint with read verbs only.

Status subresources are written by Orbit's controllers; over the API only a global-admin may.
A token's scopes cut further: without ``write`` no write verb, without ``proxy`` no AccessPoint.

Bindings are read from the store on every decision (two indexed reads), so a removed binding
takes effect on the next request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orbit import errors
from orbit.api import v1alpha1
from orbit.security.identity import Identity
from orbit.store.base import ResourceStore

Role = v1alpha1.Role
READ = frozenset({"get", "list", "watch"})
WRITE = frozenset({"create", "update", "patch", "delete"})
VERBS = READ | WRITE

NAMESPACED = frozenset(cls.PLURAL for cls in v1alpha1.KINDS if cls.NAMESPACED)
CLUSTER_SCOPED = frozenset(cls.PLURAL for cls in v1alpha1.KINDS if not cls.NAMESPACED)
PROXY = "clusterdeployments/proxy"
KUBECONFIG = "clusterdeployments/kubeconfig"
EDITABLE = frozenset({"clusterdeployments", "multiclusterservices"})
# Written by Orbit's controllers, not by people: an API write could name a ServiceTemplate no
# AccessRule allows, since ServiceSets bypass the service admission of their owners.
GENERATED = frozenset({"servicesets"})
NON_RESOURCES = frozenset({"audit", "tokens", "admin"})


@dataclass(frozen=True)
class Permission:
    verb: str
    resource: str
    namespace: str | None = None

    def describe(self) -> str:
        where = f' in namespace "{self.namespace}"' if self.namespace else ""
        if self.resource == "namespaces" and self.namespace:
            where = f' (namespace "{self.namespace}")'
        return f"{self.resource}:{self.verb}{where}"


def _namespaced_reads() -> frozenset[tuple[str, str]]:
    resources = NAMESPACED | {f"{p}/status" for p in NAMESPACED} | {KUBECONFIG, PROXY}
    return frozenset((r, v) for r in resources for v in READ)


def _all(resources: Iterable[str], verbs: Iterable[str]) -> frozenset[tuple[str, str]]:
    return frozenset((r, v) for r in resources for v in verbs)


# (resource, verb) pairs each namespace role grants inside its namespace.
NAMESPACE_RULES: dict[Role, frozenset[tuple[str, str]]] = {
    Role.NAMESPACE_VIEWER: _namespaced_reads(),
    Role.NAMESPACE_EDITOR: _namespaced_reads() | _all(EDITABLE | {PROXY}, WRITE),
    Role.NAMESPACE_ADMIN: _namespaced_reads() | _all((NAMESPACED - GENERATED) | {PROXY}, WRITE),
}
# Read everywhere: every resource but the write-only non-resources.
GLOBAL_VIEWER_RULES = _namespaced_reads() | _all(CLUSTER_SCOPED | {"audit"}, READ)


def granted_by(role: Role, perm: Permission) -> bool:
    """Whether ``role`` (held where it applies) grants ``perm``."""
    if role == Role.GLOBAL_ADMIN:
        return True
    if role == Role.GLOBAL_VIEWER:
        return (perm.resource, perm.verb) in GLOBAL_VIEWER_RULES
    if perm.resource == "namespaces":
        return perm.verb == "get"  # its own Namespace object (the caller passes that namespace)
    return (perm.resource, perm.verb) in NAMESPACE_RULES[role]


def roles_granting(perm: Permission) -> list[str]:
    """The roles that would grant ``perm`` (for the message of a refusal)."""
    candidates: list[Role] = [Role.GLOBAL_ADMIN, Role.GLOBAL_VIEWER]
    if perm.namespace is not None:
        candidates += list(v1alpha1.NAMESPACE_ROLES)
    return [r.value for r in reversed(candidates) if granted_by(r, perm)]


def scope_allows(identity: Identity, perm: Permission) -> str | None:
    """The scope ``perm`` needs that the identity's token lacks, or None."""
    needed = "read" if perm.verb in READ else "write"
    if needed not in identity.scopes:
        return needed
    if perm.resource == PROXY and "proxy" not in identity.scopes:
        return "proxy"
    return None


@dataclass(frozen=True)
class Grants:
    """The roles an identity holds: global ones, and namespace ones per namespace."""

    global_roles: frozenset[Role]
    namespace_roles: dict[str, frozenset[Role]]

    def roles_in(self, namespace: str | None) -> frozenset[Role]:
        local = self.namespace_roles.get(namespace, frozenset()) if namespace else frozenset()
        return self.global_roles | local

    def to_dict(self) -> dict[str, object]:
        return {
            "global": sorted(r.value for r in self.global_roles),
            "namespaces": {
                ns: sorted(r.value for r in roles)
                for ns, roles in sorted(self.namespace_roles.items())
            },
        }


def _matches(identity: Identity, subjects: Iterable[v1alpha1.Subject]) -> bool:
    for subject in subjects:
        if subject.kind == "User" and subject.name == identity.user:
            return True
        if subject.kind == "Group" and subject.name in identity.groups:
            return True
    return False


class Authorizer:
    """Decides permissions from the RoleBindings and ClusterRoleBindings in the store."""

    def __init__(self, store: ResourceStore) -> None:
        self._store = store

    async def grants(
        self, identity: Identity, namespace: str | None = None, *, local: bool = True
    ) -> Grants:
        """The identity's roles: every global one and, when ``local``, its namespace roles in
        ``namespace`` (in every namespace when that is None)."""
        global_roles = {
            Role(b.spec.role)
            for b in (await self._store.list(v1alpha1.ClusterRoleBinding, None)).items
            if _matches(identity, b.spec.subjects)
        }
        per_namespace: dict[str, set[Role]] = {}
        bindings = (await self._store.list(v1alpha1.RoleBinding, namespace)).items if local else []
        for binding in bindings:
            if _matches(identity, binding.spec.subjects):
                ns = binding.metadata.namespace or ""
                per_namespace.setdefault(ns, set()).add(Role(binding.spec.role))
        return Grants(
            frozenset(global_roles), {ns: frozenset(r) for ns, r in per_namespace.items()}
        )

    async def _roles(self, identity: Identity, perm: Permission) -> frozenset[Role]:
        # Namespace roles never grant a cluster-scoped or cross-namespace permission.
        ns = perm.namespace
        grants = await self.grants(identity, ns, local=ns is not None)
        return grants.roles_in(ns)

    async def allowed(self, identity: Identity, perm: Permission) -> bool:
        if scope_allows(identity, perm) is not None:
            return False
        return any(granted_by(role, perm) for role in await self._roles(identity, perm))

    async def check(self, identity: Identity, perm: Permission) -> None:
        """Return when ``perm`` is granted; Forbidden naming what is missing otherwise."""
        missing_scope = scope_allows(identity, perm)
        if missing_scope is not None:
            raise errors.Forbidden(
                f"{identity.describe()} may not {perm.verb} {perm.resource}: the token lacks "
                f'the "{missing_scope}" scope (missing permission {perm.describe()})'
            )
        roles = await self._roles(identity, perm)
        if any(granted_by(role, perm) for role in roles):
            return
        needed = " or ".join(roles_granting(perm)) or "global-admin"
        held = ", ".join(sorted(r.value for r in roles)) or "none"
        where = f' in namespace "{perm.namespace}"' if perm.namespace else ""
        raise errors.Forbidden(
            f"{identity.describe()} may not {perm.verb} {perm.resource}{where}: missing "
            f"permission {perm.describe()}, granted by {needed} (holds: {held})"
        )

    async def rules(self, identity: Identity, namespace: str | None) -> dict[str, list[str]]:
        """Every (resource, verbs) the identity may use: in ``namespace`` (its namespaced
        resources, the AccessPoint, its Namespace object) or, when None, globally (the
        cluster-scoped kinds, cross-namespace lists, audit, admin, others' tokens). A
        SelfSubjectRulesReview, for clients that offer only what is allowed."""
        if namespace is None:
            resources = sorted(CLUSTER_SCOPED | NON_RESOURCES | {f"*/{p}" for p in NAMESPACED})
        else:
            resources = sorted(
                NAMESPACED | {f"{p}/status" for p in NAMESPACED} | {KUBECONFIG, PROXY, "namespaces"}
            )
        roles = (await self.grants(identity, namespace, local=namespace is not None)).roles_in(
            namespace
        )
        out: dict[str, list[str]] = {}
        for resource in resources:
            # "*/<plural>" is the cross-namespace list of a namespaced kind.
            checked = resource[2:] if resource.startswith("*/") else resource
            verbs = sorted(READ) if resource.startswith("*/") else sorted(VERBS)
            allowed = [
                verb
                for verb in verbs
                if scope_allows(identity, Permission(verb, checked, namespace)) is None
                and any(granted_by(role, Permission(verb, checked, namespace)) for role in roles)
            ]
            if allowed:
                out[resource] = allowed
        return out
