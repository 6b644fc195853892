"""Admission rules for ClusterTemplates and Credentials, and what protects them from deletion
while clusters still need them (a cluster cannot be torn down without its credential), in
their own namespace or, for the catalog's, in any namespace that uses them."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from orbit import templating
from orbit.api import v1alpha1
from orbit.errors import Cause, Conflict, invalid
from orbit.providers.base import SpecCheck
from orbit.security import access
from orbit.store.base import ResourceStore


def provider_cause(provider: str, providers: Collection[str]) -> Cause | None:
    if provider in providers:
        return None
    known = ", ".join(sorted(providers)) or "none"
    return Cause("spec.provider", f"unknown provider {provider!r}; this Orbit has: {known}")


def admit_template(
    new: v1alpha1.ClusterTemplate,
    old: v1alpha1.ClusterTemplate | None,
    *,
    providers: Collection[str],
    spec_checks: Mapping[str, SpecCheck] | None = None,
) -> None:
    name = new.metadata.name
    if old is not None:
        # upgradeTo may grow: publishing version N+1 means adding it to version N's upgrade path.
        before = old.spec.model_dump(exclude={"upgrade_to"})
        after = new.spec.model_dump(exclude={"upgrade_to"})
        if before != after:
            changed = sorted(k for k in after if after[k] != before.get(k))
            raise invalid(
                new.KIND,
                name,
                *(
                    Cause(
                        f"spec.{_camel(field)}",
                        "ClusterTemplates are immutable (only spec.upgradeTo may change): "
                        "create a new template with a new name and version, "
                        f"and add it to the upgradeTo list of {name!r}",
                        "FieldValueForbidden",
                    )
                    for field in changed
                ),
            )
        return
    causes: list[Cause] = []
    if cause := provider_cause(new.spec.provider, providers):
        causes.append(cause)
    if name in new.spec.upgrade_to:
        causes.append(Cause("spec.upgradeTo", "a template cannot upgrade to itself"))
    schema_causes = templating.check_schema(new.spec.parameters)
    causes.extend(schema_causes)
    if not schema_causes and not templating.validate_config(new.spec.parameters, {}):
        # Every parameter has a default: the shape must render with them.
        try:
            shape = templating.render_shape(new.spec, {})
        except templating.RenderError as err:
            causes.append(Cause(err.field, err.message))
        else:
            # The provider's own settings, as it will read them (paths are this template's).
            if check := (spec_checks or {}).get(new.spec.provider):
                causes.extend(check(shape.provider_spec))
    if causes:
        raise invalid(new.KIND, name, *causes)


async def _users(
    store: ResourceStore, obj: v1alpha1.Resource, field: str, *, catalog_namespace: str
) -> list[v1alpha1.ClusterDeployment]:
    """Clusters whose ``spec.<field>`` means ``obj``: in its namespace and, for a catalog
    object, in every namespace that uses it under an AccessRule."""
    name = obj.metadata.name

    def uses(cd: v1alpha1.ClusterDeployment) -> bool:
        return bool(getattr(cd.spec, field) == name)

    return await access.referrers(
        store, obj, v1alpha1.ClusterDeployment, uses, catalog_namespace=catalog_namespace
    )


def _in_use(obj: v1alpha1.Resource, users: list[v1alpha1.ClusterDeployment]) -> Conflict:
    kind, name, namespace = obj.KIND, obj.metadata.name, obj.metadata.namespace
    names = ", ".join(
        cd.metadata.name
        if cd.metadata.namespace == namespace
        else f"{cd.metadata.namespace}/{cd.metadata.name}"
        for cd in users[:5]
    ) + (" ..." if len(users) > 5 else "")
    return Conflict(
        f'{kind} "{name}" is used by {len(users)} ClusterDeployment(s) ({names}); '
        "delete or move them first",
        kind=kind,
        name=name,
    )


async def admit_template_delete(
    store: ResourceStore, obj: v1alpha1.ClusterTemplate, *, catalog_namespace: str = "default"
) -> None:
    users = await _users(store, obj, "template", catalog_namespace=catalog_namespace)
    if users:
        raise _in_use(obj, users)


async def admit_credential_delete(
    store: ResourceStore, obj: v1alpha1.Credential, *, catalog_namespace: str = "default"
) -> None:
    users = await _users(store, obj, "credential", catalog_namespace=catalog_namespace)
    if users:
        raise _in_use(obj, users)


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)
