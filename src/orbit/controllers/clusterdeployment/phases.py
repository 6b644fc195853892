"""The named steps of a ClusterDeployment reconcile, each reading and filling the Scope.

Order (as in cluster-api): resolve the template, the config and the credential, then converge
the infrastructure through the provider; deletion is its own path. Every step re-reads what it
needs: nothing written on an earlier pass is trusted. References resolve to the cluster's
namespace's own objects, else to the catalog namespace's (:func:`orbit.security.access.resolve`);
AccessRules were checked by admission when the reference was made, not here, so a cluster keeps
working when a rule that let it in is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from orbit import templating
from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ConditionType, Reason
from orbit.controllers.clusterdeployment.status import condition, set_conditions
from orbit.errors import NotFound
from orbit.providers import base
from orbit.providers.registry import ProviderRegistry
from orbit.security import access
from orbit.store.base import ResourceStore

EventType = Literal["Normal", "Warning"]


class Blocked(Exception):
    """A step cannot proceed until something else changes; ``retry_after`` in seconds, or None
    for a terminal problem a person must fix (the cluster is marked Failed)."""

    def __init__(self, reason: str, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


@dataclass
class Scope:
    """Everything one reconcile pass knows about one cluster."""

    cluster: v1alpha1.ClusterDeployment
    status: v1alpha1.ClusterDeploymentStatus
    now: datetime
    template: v1alpha1.ClusterTemplate | None = None
    credential: v1alpha1.Credential | None = None
    provider: base.Provider | None = None
    desired: base.DesiredCluster | None = None
    events: list[tuple[EventType, str, str]] = field(default_factory=list)

    @property
    def generation(self) -> int | None:
        return self.cluster.metadata.generation

    @property
    def ref(self) -> base.ClusterRef:
        meta = self.cluster.metadata
        return base.ClusterRef(uid=meta.uid or "", namespace=meta.namespace or "", name=meta.name)

    def event(self, type_: EventType, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))


async def resolve_template(scope: Scope, store: ResourceStore, *, catalog_namespace: str) -> None:
    spec = scope.cluster.spec
    try:
        scope.template = await access.resolve(
            store,
            v1alpha1.ClusterTemplate,
            scope.ref.namespace,
            spec.template,
            catalog_namespace=catalog_namespace,
        )
    except NotFound:
        raise Blocked(
            Reason.TEMPLATE_NOT_FOUND,
            f'ClusterTemplate "{spec.template}" not found',
            retry_after=30.0,
        ) from None
    tspec = scope.template.spec
    causes = templating.validate_config(tspec.parameters, spec.config)
    if causes:
        detail = "; ".join(f"{c.field}: {c.message}" for c in causes)
        raise Blocked(
            Reason.CONFIG_INVALID,
            f"config does not satisfy {spec.template}: {detail}",
            retry_after=None,
        )
    try:
        shape = templating.render_shape(tspec, spec.config)
    except templating.RenderError as err:
        raise Blocked(
            Reason.TEMPLATE_INVALID,
            f"template {spec.template} does not render: {err}",
            retry_after=None,
        ) from None
    scope.desired = base.DesiredCluster(
        ref=scope.ref,
        kubernetes_version=tspec.kubernetes_version,
        control_plane=shape.control_plane,
        workers=shape.workers,
        labels={**shape.labels, **scope.cluster.metadata.labels},
        provider_spec=shape.provider_spec,
    )
    set_conditions(
        scope.status,
        condition(
            ConditionType.TEMPLATE_VALID,
            True,
            Reason.SUCCEEDED,
            f"{spec.template} ({tspec.version})",
            generation=scope.generation,
        ),
    )


async def available_upgrades(
    scope: Scope, store: ResourceStore, *, catalog_namespace: str
) -> list[str]:
    """The upgrade targets of the cluster's template it could move to: those its namespace has,
    and those of the catalog its AccessRules allow (what admission would accept)."""
    if scope.template is None:
        return []
    namespace = scope.ref.namespace
    policy: access.Policy | None = None
    found = []
    for name in scope.template.spec.upgrade_to:
        try:
            target = await access.resolve(
                store,
                v1alpha1.ClusterTemplate,
                namespace,
                name,
                catalog_namespace=catalog_namespace,
            )
        except NotFound:
            continue
        if target.metadata.namespace != namespace:
            policy = policy or await access.Policy.load(
                store, namespace, catalog_namespace=catalog_namespace
            )
            if not policy.allows(target.KIND, name):
                continue
        found.append(name)
    return found


async def resolve_credential(
    scope: Scope, store: ResourceStore, providers: ProviderRegistry, *, catalog_namespace: str
) -> None:
    name = scope.cluster.spec.credential
    try:
        scope.credential = await access.resolve(
            store,
            v1alpha1.Credential,
            scope.ref.namespace,
            name,
            catalog_namespace=catalog_namespace,
        )
    except NotFound:
        raise Blocked(
            Reason.CREDENTIAL_NOT_FOUND, f'Credential "{name}" not found', retry_after=30.0
        ) from None
    provider_name = scope.credential.spec.provider
    if scope.template is not None and scope.template.spec.provider != provider_name:
        raise Blocked(
            Reason.PROVIDER_MISMATCH,
            f"credential {name!r} is for provider {provider_name!r}, "
            f"template needs {scope.template.spec.provider!r}",
            retry_after=None,
        )
    try:
        scope.provider = providers.get(provider_name)
    except KeyError:
        raise Blocked(
            Reason.PROVIDER_UNKNOWN,
            f"provider {provider_name!r} is not installed in this "
            f"Orbit (installed: {', '.join(providers.names()) or 'none'})",
            retry_after=None,
        ) from None
    set_conditions(
        scope.status,
        condition(
            ConditionType.CREDENTIAL_VALID,
            True,
            Reason.SUCCEEDED,
            f"{name} ({provider_name})",
            generation=scope.generation,
        ),
    )
