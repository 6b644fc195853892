"""ServiceTemplate admission: parameters, inline resources that must render (with the line of
the error), git URLs and paths, and immutability."""

from __future__ import annotations

import pytest

from orbit.api import v1alpha1
from orbit.errors import Invalid
from tests.admission.conftest import WEB, Env, service_template


def causes(err: Invalid) -> dict[str, str]:
    return {c.field: c.message for c in err.causes}


async def test_a_valid_template_is_admitted(env: Env) -> None:
    created = await env.create(service_template())
    assert created.metadata.generation == 1


async def test_parameters_must_be_a_json_schema(env: Env) -> None:
    bad = {"type": "object", "properties": {"replicas": {"type": "lots"}}}
    with pytest.raises(Invalid) as caught:
        await env.create(service_template(parameters=bad))
    assert list(causes(caught.value)) == ["spec.parameters.properties.replicas.type"]


async def test_parameters_must_describe_an_object(env: Env) -> None:
    with pytest.raises(Invalid) as caught:
        await env.create(service_template(parameters={"type": "string"}))
    assert causes(caught.value) == {
        "spec.parameters.type": 'parameters must describe an object: use "type": "object"'
    }


async def test_resources_that_do_not_render_name_the_line(env: Env) -> None:
    broken = WEB.replace("{{ replicas }}", "{{ replicas }}\n  paused: {{ replica }}")
    with pytest.raises(Invalid) as caught:
        await env.create(service_template(resources=broken))
    assert causes(caught.value) == {"spec.resources": "line 7: 'replica' is undefined"}
    assert "spec.resources: line 7: 'replica' is undefined" in caught.value.message


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ("a: {% if %}\n", "line 1: "),
        ("apiVersion: v1\nkind: A\nmetadata:\n  name: [x\n", "line 5 of the rendered text: "),
        (
            "apiVersion: v1\nmetadata:\n  name: x\n",
            "line 1 of the rendered text: document 1 has no kind",
        ),
    ],
)
async def test_resources_must_be_kubernetes_yaml(env: Env, resources: str, expected: str) -> None:
    with pytest.raises(Invalid) as caught:
        await env.create(service_template(resources=resources))
    assert causes(caught.value)["spec.resources"].startswith(expected)


async def test_a_required_parameter_without_default_skips_the_render_check(env: Env) -> None:
    parameters = {
        "type": "object",
        "required": ["replicas"],
        "properties": {"replicas": {"type": "integer"}},
    }
    await env.create(service_template(parameters=parameters))


async def test_defaults_must_satisfy_the_schema(env: Env) -> None:
    parameters = {
        "type": "object",
        "properties": {"replicas": {"type": "integer", "minimum": 1, "default": 0}},
    }
    with pytest.raises(Invalid) as caught:
        await env.create(service_template(parameters=parameters))
    assert causes(caught.value) == {
        "spec.parameters": "the defaults break the schema: "
        "values.replicas: 0 is less than the minimum of 1"
    }


async def test_cluster_facts_are_not_required_by_the_sample_cluster(env: Env) -> None:
    resources = WEB.replace("name: web", "name: web-{{ cluster.config.region }}")
    await env.create(service_template(resources=resources))


async def test_git_sources_are_checked_without_fetching(env: Env) -> None:
    ok = v1alpha1.GitSource(url="https://git.example/none.git", ref="v1", path="deploy")
    await env.create(service_template("git-ok", git=ok))
    bad = v1alpha1.GitSource(url="ext::sh -c evil", path="../../etc")
    with pytest.raises(Invalid) as caught:
        await env.create(service_template("git-bad", git=bad))
    assert set(causes(caught.value)) == {"spec.git.url", "spec.git.path"}


async def test_specs_are_immutable(env: Env) -> None:
    created = await env.create(service_template())
    assert isinstance(created, v1alpha1.ServiceTemplate)
    changed = created.model_copy(deep=True)
    changed.spec.resources = WEB.replace("name: web", "name: www")
    changed.spec.description = "new"
    with pytest.raises(Invalid) as caught:
        await env.update(changed)
    assert sorted(causes(caught.value)) == ["spec.description", "spec.resources"]
    assert all(c.reason == "FieldValueForbidden" for c in caught.value.causes)
    assert "ServiceTemplates are immutable" in caught.value.message

    labelled = created.model_copy(deep=True)
    labelled.metadata.labels["team"] = "web"
    updated = await env.update(labelled)
    assert updated.metadata.labels == {"team": "web"}
