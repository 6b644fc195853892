"""Service lists on ClusterDeployments, ClusterTemplates and MultiClusterServices: templates
that exist, values that satisfy their schema and render, and ServiceTemplates that cannot be
deleted while a list uses them."""

from __future__ import annotations

from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.errors import Conflict, Invalid
from orbit.server import bodies
from tests.admission.conftest import Env, service_template


def svc(name: str, template: str = "web-1-0-0", **fields: Any) -> v1alpha1.Service:
    return v1alpha1.Service(name=name, template=template, **fields)


def cluster(name: str, *services: v1alpha1.Service, **config: Any) -> v1alpha1.ClusterDeployment:
    return v1alpha1.ClusterDeployment(
        metadata=v1alpha1.ObjectMeta(name=name, namespace="default", labels={"env": "prod"}),
        spec=v1alpha1.ClusterDeploymentSpec(
            template="sim-single-1-0-0", credential="sim", config=config, services=list(services)
        ),
    )


def multi(name: str, *services: v1alpha1.Service) -> v1alpha1.MultiClusterService:
    return v1alpha1.MultiClusterService(
        metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
        spec=v1alpha1.MultiClusterServiceSpec(services=list(services)),
    )


async def base_template(env: Env, name: str, *services: v1alpha1.Service) -> v1alpha1.Resource:
    stock = await env.store.get(v1alpha1.ClusterTemplate, "default", "sim-single-1-0-0")
    spec = stock.spec.model_copy(update={"services": list(services), "upgrade_to": []})
    return await env.create(
        v1alpha1.ClusterTemplate(
            metadata=v1alpha1.ObjectMeta(name=name, namespace="default"), spec=spec
        )
    )


def causes(err: Invalid) -> dict[str, str]:
    return {c.field: c.message for c in err.causes}


async def test_services_with_known_templates_and_good_values(env: Env) -> None:
    await env.create(service_template())
    await env.create(cluster("c1", svc("web", values={"replicas": 3}), svc("web2")))


async def test_unknown_template_names_the_entry(env: Env) -> None:
    await env.create(service_template())
    await env.create(service_template("web-2-0-0"))
    entries = [svc("a"), svc("b"), svc("c", "web-9-0-0")]
    with pytest.raises(Invalid) as caught:
        await env.create(cluster("c1", *entries))
    assert causes(caught.value) == {
        "spec.services[2].template": 'ServiceTemplate "web-9-0-0" not found in namespace '
        '"default"; available: web-1-0-0, web-2-0-0'
    }
    assert caught.value.causes[0].reason == "FieldValueNotFound"


async def test_values_breaking_the_schema_have_exact_field_paths(env: Env) -> None:
    await env.create(service_template())
    entries = [svc("a", values={"replicas": 0}), svc("b", values={"replicas": 2, "image": 7})]
    with pytest.raises(Invalid) as caught:
        await env.create(cluster("c1", *entries))
    assert causes(caught.value) == {
        "spec.services[0].values.replicas": "0 is less than the minimum of 1",
        "spec.services[1].values.image": "7 is not of type 'string'",
    }


async def test_inline_templates_must_render_with_the_values(env: Env) -> None:
    resources = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n"
        "{% if values.extra %}\n  extra: {{ extras }}\n{% endif %}\n"
    )
    parameters = {"type": "object", "properties": {"extra": {"type": "boolean", "default": False}}}
    await env.create(service_template("cm-1", resources=resources, parameters=parameters))
    with pytest.raises(Invalid) as caught:
        await env.create(multi("m1", svc("cm", "cm-1", values={"extra": True})))
    assert causes(caught.value) == {
        "spec.services[0].values": "ServiceTemplate 'cm-1' does not render with these values: "
        "line 7: 'extras' is undefined"
    }


async def test_a_cluster_renders_with_its_own_name_labels_and_config(env: Env) -> None:
    resources = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '{{ cluster.name }}'\ndata:\n"
        "  env: '{{ cluster.labels.env }}'\n  size: '{{ cluster.config.machineSize }}'\n"
        "  zone: '{{ cluster.config.zone }}'\n"
    )
    await env.create(service_template("facts-1", resources=resources))
    with pytest.raises(Invalid) as caught:
        await env.create(cluster("c1", svc("facts", "facts-1")))
    assert "has no attribute 'zone'" in causes(caught.value)["spec.services[0].values"]
    # On a cluster template or a MultiClusterService the cluster is not known yet: accepted.
    await env.create(multi("m1", svc("facts", "facts-1")))


async def test_cluster_templates_check_their_base_services(env: Env) -> None:
    await env.create(service_template())
    with pytest.raises(Invalid) as caught:
        await base_template(env, "with-base", svc("web", values={"replicas": "many"}))
    assert causes(caught.value) == {
        "spec.services[0].values.replicas": "'many' is not of type 'integer'"
    }
    await base_template(env, "with-base", svc("web"))


async def test_disabled_entries_are_not_checked(env: Env) -> None:
    await env.create(cluster("c1", svc("off", "not-there", disabled=True)))


async def test_unchanged_entries_are_not_checked_again(env: Env) -> None:
    await env.create(service_template())
    created = await env.create(cluster("c1", svc("web")))
    assert isinstance(created, v1alpha1.ClusterDeployment)
    # Stored directly (as a controller might): the entry now names a missing template.
    stale = created.model_copy(deep=True)
    stale.spec.services = [svc("web", "gone-1")]
    stored = await env.store.update(stale)
    relabelled = stored.model_copy(deep=True)
    relabelled.metadata.labels["tier"] = "gold"
    await env.update(relabelled)
    added = relabelled.model_copy(deep=True)
    added.spec.services.append(svc("more", "gone-2"))
    added.metadata.resource_version = None
    with pytest.raises(Invalid) as caught:
        await env.update(added)
    assert list(causes(caught.value)) == ["spec.services[1].template"]


@pytest.mark.parametrize(
    ("services", "problem"),
    [
        (
            [
                {"name": "a", "template": "t", "dependsOn": ["b"]},
                {"name": "b", "template": "t", "dependsOn": ["a"]},
            ],
            "dependency cycle: a -> b -> a",
        ),
        ([{"name": "a", "template": "t", "dependsOn": ["zz"]}], "depends on unknown services: zz"),
    ],
)
def test_dependency_problems_are_refused_by_the_model(
    services: list[dict[str, Any]], problem: str
) -> None:
    data = cluster("c1").to_dict()
    data["spec"]["services"] = services
    with pytest.raises(Invalid) as caught:
        bodies.validate(v1alpha1.ClusterDeployment, data)
    (cause,) = caught.value.causes
    assert cause.field == "spec.services"
    assert problem in cause.message


async def test_a_template_in_use_cannot_be_deleted(env: Env) -> None:
    template = await env.create(service_template())
    await env.create(cluster("c1", svc("web")))
    await base_template(env, "with-base", svc("web"))
    await env.create(multi("m1", svc("web")))
    with pytest.raises(Conflict) as caught:
        await env.admission.admit_delete(template)
    assert caught.value.message == (
        'ServiceTemplate "web-1-0-0" is used by ClusterDeployment "c1", '
        'ClusterTemplate "with-base", MultiClusterService "m1"; '
        "remove it from their services first"
    )


async def test_an_unused_template_can_be_deleted(env: Env) -> None:
    template = await env.create(service_template())
    other = await env.create(service_template("web-2-0-0"))
    await env.create(cluster("c1", svc("web", "web-2-0-0"), svc("old", "web-1-0-0", disabled=True)))
    await env.admission.admit_delete(template)
    with pytest.raises(Conflict):
        await env.admission.admit_delete(other)
