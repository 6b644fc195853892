"""Admission rules for ClusterDeployments: references, config against the template's schema,
upgrade paths, and what may not change once a cluster exists."""

from __future__ import annotations

from orbit import templating
from orbit.api import v1alpha1
from orbit.errors import Cause, NotFound, invalid
from orbit.store.base import ResourceStore


async def _names(store: ResourceStore, cls: type[v1alpha1.Resource], namespace: str) -> str:
    items = (await store.list(cls, namespace)).items
    return ", ".join(o.metadata.name for o in items) or "none"


async def admit_cluster(
    store: ResourceStore,
    new: v1alpha1.ClusterDeployment,
    old: v1alpha1.ClusterDeployment | None,
) -> None:
    namespace = new.metadata.namespace or "default"
    name = new.metadata.name
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
        causes.extend(await _upgrade_causes(store, namespace, old.spec.template, new.spec.template))
    if causes:
        raise invalid(new.KIND, name, *causes)

    try:
        template = await store.get(v1alpha1.ClusterTemplate, namespace, new.spec.template)
    except NotFound:
        available = await _names(store, v1alpha1.ClusterTemplate, namespace)
        raise invalid(
            new.KIND,
            name,
            Cause(
                "spec.template",
                f'ClusterTemplate "{new.spec.template}" not found in namespace "{namespace}"; '
                f"available: {available}",
                "FieldValueNotFound",
            ),
        ) from None
    causes.extend(templating.validate_config(template.spec.parameters, new.spec.config))
    if not causes:
        try:
            templating.render_shape(template.spec, new.spec.config)
        except templating.RenderError as err:
            causes.append(
                Cause("spec.config", f"template {template.metadata.name!r} does not render: {err}")
            )
    try:
        credential = await store.get(v1alpha1.Credential, namespace, new.spec.credential)
    except NotFound:
        available = await _names(store, v1alpha1.Credential, namespace)
        causes.append(
            Cause(
                "spec.credential",
                f'Credential "{new.spec.credential}" not found in namespace "{namespace}"; '
                f"available: {available}",
                "FieldValueNotFound",
            )
        )
    else:
        if credential.spec.provider != template.spec.provider:
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
    store: ResourceStore, namespace: str, current: str, target: str
) -> list[Cause]:
    try:
        template = await store.get(v1alpha1.ClusterTemplate, namespace, current)
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
