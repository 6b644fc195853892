"""Admission rules for ServiceTemplates and for the service lists of ClusterDeployments,
ClusterTemplates and MultiClusterServices.

A ServiceTemplate's parameters must be a JSON Schema of an object, its git source a URL and
path Orbit will fetch, and inline resources must render with the defaults on a sample cluster
(unless a required parameter has no default: then only a service's values can tell). Its spec
never changes: a new version is a new template. A service list may name only templates of its
own namespace or catalog templates its AccessRules allow (checked when an entry names a template
it did not name before), with values that satisfy the template's schema and, for inline
templates, render. Git and helm sources are not fetched here: admission does no slow I/O; the
ServiceTemplate controller reports them in the template's status.
"""

from __future__ import annotations

from typing import Any

from orbit import templating
from orbit.admission.access import References
from orbit.api import v1alpha1
from orbit.delivery import render, sources
from orbit.errors import Cause, Conflict, NotFound, invalid
from orbit.security import access
from orbit.store.base import ResourceStore

#: Kinds whose ``spec.services`` name ServiceTemplates (their namespace's, or the catalog's).
USER_KINDS: tuple[type[v1alpha1.Resource], ...] = (
    v1alpha1.ClusterDeployment,
    v1alpha1.ClusterTemplate,
    v1alpha1.MultiClusterService,
)


def admit_service_template(
    new: v1alpha1.ServiceTemplate, old: v1alpha1.ServiceTemplate | None
) -> None:
    name = new.metadata.name
    if old is not None:
        before, after = old.spec.model_dump(), new.spec.model_dump()
        changed = sorted(k for k in after if after[k] != before.get(k))
        if changed:
            raise invalid(
                new.KIND,
                name,
                *(
                    Cause(
                        f"spec.{_camel(field)}",
                        "ServiceTemplates are immutable: create a new template with a new name "
                        f"and version, and point the services that use {name!r} at it",
                        "FieldValueForbidden",
                    )
                    for field in changed
                ),
            )
        return
    causes = templating.check_schema(new.spec.parameters)
    if new.spec.git is not None:
        if problem := sources.check_git_url(new.spec.git.url):
            causes.append(Cause("spec.git.url", problem))
        if problem := sources.check_repo_path(new.spec.git.path):
            causes.append(Cause("spec.git.path", problem))
    if not causes:
        causes.extend(_default_causes(new))
    if causes:
        raise invalid(new.KIND, name, *causes)


def _default_causes(template: v1alpha1.ServiceTemplate) -> list[Cause]:
    """The defaults must satisfy the schema, and inline resources render with them."""
    problems = templating.validate_config(template.spec.parameters, {}, field="values")
    if any(not _missing(c) for c in problems):
        details = "; ".join(f"{c.field}: {c.message}" for c in problems if not _missing(c))
        return [Cause("spec.parameters", f"the defaults break the schema: {details}")]
    if problems or template.spec.resources is None:
        return []  # a required parameter without default: only a service's values can tell
    try:
        render.render_inline(
            template,
            values={},
            cluster=render.sample_cluster(template.metadata.namespace or "default"),
            namespace="default",
        )
    except render.RenderError as err:
        return [Cause("spec.resources", str(err))]
    return []


def _missing(cause: Cause) -> bool:
    return cause.message.endswith("is a required property")


async def service_causes(
    refs: References,
    *,
    services: list[v1alpha1.Service],
    cluster: render.ClusterContext,
    previous: list[v1alpha1.Service] | None = None,
) -> list[Cause]:
    """Causes why entries of ``services`` cannot be delivered. Entries unchanged from
    ``previous`` (the stored list) and disabled entries are not checked again; the AccessRules
    are checked only for an entry that names a template its stored version did not."""
    unchanged = {s.name: s for s in previous or []}
    causes: list[Cause] = []
    for index, svc in enumerate(services):
        before = unchanged.get(svc.name)
        if svc.disabled or before == svc:
            continue
        field = f"spec.services[{index}]"
        template = await refs.get(
            v1alpha1.ServiceTemplate,
            svc.template,
            field=f"{field}.template",
            new=before is None or before.template != svc.template,
        )
        if isinstance(template, Cause):
            causes.append(template)
            continue
        schema_causes = templating.validate_config(
            template.spec.parameters, svc.values, field=f"{field}.values"
        )
        causes.extend(schema_causes)
        if schema_causes or template.spec.resources is None:
            continue
        try:
            render.render_inline(
                template, values=svc.values, cluster=cluster, namespace=svc.namespace
            )
        except render.RenderError as err:
            causes.append(
                Cause(
                    f"{field}.values",
                    f"ServiceTemplate {svc.template!r} does not render with these values: {err}",
                )
            )
    return causes


async def admit_services_of(
    store: ResourceStore,
    new: v1alpha1.Resource,
    old: v1alpha1.Resource | None,
    *,
    catalog_namespace: str = "default",
) -> None:
    """Check the service list of a ClusterDeployment, ClusterTemplate or MultiClusterService."""
    namespace = new.metadata.namespace or "default"
    services = _services(new)
    previous = _services(old) if old is not None else None
    if not services:
        return
    refs = References(store, namespace, catalog_namespace=catalog_namespace)
    cluster = render.sample_cluster(namespace)
    if isinstance(new, v1alpha1.ClusterDeployment):
        cluster = render.ClusterContext(
            name=new.metadata.name,
            namespace=namespace,
            labels=dict(new.metadata.labels),
            config=await _cluster_config(store, refs, new),
        )
    causes = await service_causes(refs, services=services, cluster=cluster, previous=previous)
    if causes:
        raise invalid(new.KIND, new.metadata.name, *causes)


async def _cluster_config(
    store: ResourceStore, refs: References, cluster: v1alpha1.ClusterDeployment
) -> dict[str, Any]:
    try:
        template = await access.resolve(
            store,
            v1alpha1.ClusterTemplate,
            refs.namespace,
            cluster.spec.template,
            catalog_namespace=refs.catalog_namespace,
        )
    except NotFound:
        return dict(cluster.spec.config)
    return templating.apply_defaults(template.spec.parameters, cluster.spec.config)


def _services(obj: v1alpha1.Resource | None) -> list[v1alpha1.Service]:
    spec = getattr(obj, "spec", None)
    services = getattr(spec, "services", None)
    return list(services) if isinstance(services, list) else []


async def admit_service_template_delete(
    store: ResourceStore, obj: v1alpha1.ServiceTemplate, *, catalog_namespace: str = "default"
) -> None:
    """Refuse to delete a ServiceTemplate that a service list still uses: one in its namespace
    or, for a catalog template, one in any namespace that resolves the name to it."""
    namespace, name = obj.metadata.namespace or "", obj.metadata.name

    def uses(item: v1alpha1.Resource) -> bool:
        return any(s.template == name and not s.disabled for s in _services(item))

    users: list[str] = []
    for cls in USER_KINDS:
        for item in await access.referrers(
            store, obj, cls, uses, catalog_namespace=catalog_namespace
        ):
            where = item.metadata.namespace or ""
            label = item.metadata.name if where == namespace else f"{where}/{item.metadata.name}"
            users.append(f'{cls.KIND} "{label}"')
    if users:
        shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
        raise Conflict(
            f'ServiceTemplate "{name}" is used by {shown}; remove it from their services first',
            kind=obj.KIND,
            name=name,
        )


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)
