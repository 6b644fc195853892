"""Admission rules for ClusterDeployments: references (the namespace's own template and
credential, or catalog ones its AccessRules allow), config against the template's schema,
upgrade paths, and what may not change once a cluster exists."""

from __future__ import annotations

from collections.abc import Mapping

from orbit import templating
from orbit.admission.access import References
from orbit.api import v1alpha1
from orbit.errors import Cause, NotFound, invalid
from orbit.providers.base import SpecCheck
from orbit.security import access
from orbit.store.base import ResourceStore


async def admit_cluster(
    store: ResourceStore,
    new: v1alpha1.ClusterDeployment,
    old: v1alpha1.ClusterDeployment | None,
    *,
    catalog_namespace: str = "default",
    spec_checks: Mapping[str, SpecCheck] | None = None,
) -> None:
    namespace = new.metadata.namespace or "default"
    name = new.metadata.name
    refs = References(store, namespace, catalog_namespace=catalog_namespace)
    causes: list[Cause] = []

    if old is not None and old.metadata.deletion_timestamp and new.spec != old.spec:
        causes.append(
            Cause(
                "spec",
                "the cluster is being deleted; its spec can no longer change",
                "FieldValueForbidden",
            )
        )
    if old is not None and new.spec.credential != old.spec.credential:
        causes.append(
            Cause(
                "spec.credential",
                "the credential of an existing cluster cannot change",
                "FieldValueForbidden",
            )
        )
    if old is not None and new.spec.template != old.spec.template:
        causes.extend(await _upgrade_causes(refs, store, old.spec.template, new.spec.template))
    if causes:
        raise invalid(new.KIND, name, *causes)

    template = await refs.get(
        v1alpha1.ClusterTemplate,
        new.spec.template,
        field="spec.template",
        new=old is None or new.spec.template != old.spec.template,
    )
    if isinstance(template, Cause):
        causes.append(template)
    else:
        causes.extend(templating.validate_config(template.spec.parameters, new.spec.config))
        if not causes:
            try:
                shape = templating.render_shape(template.spec, new.spec.config)
            except templating.RenderError as err:
                message = f"template {template.metadata.name!r} does not render: {err}"
                causes.append(Cause("spec.config", message))
            else:
                if check := (spec_checks or {}).get(template.spec.provider):
                    causes.extend(
                        Cause(
                            "spec.config",
                            f"with this config, template {template.metadata.name!r} renders "
                            f"an invalid providerSpec: {problem.field}: {problem.message}",
                        )
                        for problem in check(shape.provider_spec)
                    )
    credential = await refs.get(
        v1alpha1.Credential,
        new.spec.credential,
        field="spec.credential",
        new=old is None or new.spec.credential != old.spec.credential,
    )
    if isinstance(credential, Cause):
        causes.append(credential)
    elif not isinstance(template, Cause) and credential.spec.provider != template.spec.provider:
        causes.append(
            Cause(
                "spec.credential",
                f"credential {credential.metadata.name!r} is for provider "
                f"{credential.spec.provider!r} but template {template.metadata.name!r} "
                f"needs {template.spec.provider!r}",
            )
        )
    if causes:
        raise invalid(new.KIND, name, *causes)


async def _upgrade_causes(
    refs: References, store: ResourceStore, current: str, target: str
) -> list[Cause]:
    try:
        template = await access.resolve(
            store,
            v1alpha1.ClusterTemplate,
            refs.namespace,
            current,
            catalog_namespace=refs.catalog_namespace,
        )
    except NotFound:
        return [
            Cause(
                "spec.template",
                f'the current template "{current}" no longer exists, so no upgrade path is known',
                "FieldValueForbidden",
            )
        ]
    allowed = template.spec.upgrade_to
    if target in allowed:
        return []
    listed = ", ".join(allowed) if allowed else "none"
    return [
        Cause(
            "spec.template",
            f'cannot move from template "{current}" to "{target}": '
            f"the upgrade paths of {current!r} are: {listed}",
            "FieldValueNotSupported",
        )
    ]
