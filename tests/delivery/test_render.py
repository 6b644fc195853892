"""Rendering inline ServiceTemplates: values with defaults, the cluster context, namespaces, and
errors that name the line (template lines for Jinja2, rendered lines for YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.delivery import render
from orbit.delivery.render import ClusterContext, RenderError

SCHEMA = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "minimum": 1, "default": 2},
        "image": {"type": "string", "default": "nginx:1.27"},
        "tier": {
            "type": "object",
            "default": {},
            "properties": {"name": {"type": "string", "default": "web"}},
        },
    },
}

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    cluster: {{ cluster.name }}
    region: {{ cluster.labels.region }}
spec:
  replicas: {{ values.replicas }}
  template:
    spec:
      containers:
        - name: web
          image: {{ image }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: fixed
data:
  size: "{{ cluster.config.size }}"
  tier: {{ tier.name }}
---
apiVersion: v1
kind: Namespace
metadata:
  name: apps-{{ cluster.name }}
"""

CLUSTER = ClusterContext(
    name="prod-1", namespace="team-a", labels={"region": "eu"}, config={"size": "large"}
)


def template(resources: str, parameters: dict[str, Any] | None = None) -> v1alpha1.ServiceTemplate:
    return v1alpha1.ServiceTemplate(
        metadata=v1alpha1.ObjectMeta(name="web-1-0-0", namespace="team-a"),
        spec=v1alpha1.ServiceTemplateSpec(
            version="1.0.0", parameters=parameters or {"type": "object"}, resources=resources
        ),
    )


async def rendered(
    tpl: v1alpha1.ServiceTemplate, tmp_path: Path, values: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return await render.render_service(
        tpl, values=values or {}, cluster=CLUSTER, namespace="apps", cache_dir=tmp_path
    )


async def test_values_defaults_and_cluster_context(tmp_path: Path) -> None:
    deploy, config, ns = await rendered(template(WEB, SCHEMA), tmp_path, {"replicas": 3})
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert deploy["metadata"]["labels"] == {"cluster": "prod-1", "region": "eu"}
    assert config["data"] == {"size": "large", "tier": "web"}
    assert ns["metadata"]["name"] == "apps-prod-1"


async def test_namespaced_kinds_get_the_service_namespace(tmp_path: Path) -> None:
    deploy, config, ns = await rendered(template(WEB, SCHEMA), tmp_path)
    assert deploy["metadata"]["namespace"] == "apps"
    assert config["metadata"]["namespace"] == "fixed"  # an explicit namespace stays
    assert "namespace" not in ns["metadata"]  # cluster-scoped
    assert deploy["spec"]["replicas"] == 2  # the default


async def test_values_breaking_the_schema_list_every_field(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as caught:
        await rendered(template(WEB, SCHEMA), tmp_path, {"replicas": 0, "image": 5})
    message = str(caught.value)
    assert "values.replicas: 0 is less than the minimum of 1" in message
    assert "values.image: 5 is not of type 'string'" in message
    assert caught.value.line is None


async def test_undefined_name_reports_the_template_line(tmp_path: Path) -> None:
    text = WEB.replace("{{ values.replicas }}", "{{ replica }}")
    with pytest.raises(RenderError) as caught:
        await rendered(template(text), tmp_path)
    assert caught.value.line == 9
    assert str(caught.value) == "line 9: 'replica' is undefined"


async def test_undefined_attribute_reports_its_line(tmp_path: Path) -> None:
    text = "a: 1\nb: {{ values.missing }}\n"
    with pytest.raises(RenderError) as caught:
        await rendered(template(text), tmp_path)
    assert caught.value.line == 2
    assert "missing" in caught.value.message


async def test_syntax_error_reports_the_template_line(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ cluster.name }\n"
    with pytest.raises(RenderError) as caught:
        await rendered(template(text), tmp_path)
    assert caught.value.line == 4
    assert str(caught.value).startswith("line 4: ")


async def test_bad_yaml_reports_the_rendered_line(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n"
        "  a: {{ cluster.name }}: oops\n"
    )
    with pytest.raises(RenderError) as caught:
        await rendered(template(text), tmp_path)
    err = caught.value
    assert err.line == 6
    assert err.rendered
    assert str(err).startswith("line 6 of the rendered text: invalid YAML: ")


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("apiVersion: v1\nmetadata:\n  name: x\n", "document 1 has no kind", 1),
        (
            "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\n# two\nkind: B\nmetadata: {}\n",
            "document 2 (B) has no apiVersion",
            7,
        ),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "has no metadata.name", 1),
        ("- a\n- b\n", "document 1 is a list, not a mapping", 1),
    ],
)
async def test_documents_must_be_kubernetes_objects(
    tmp_path: Path, text: str, problem: str, line: int
) -> None:
    with pytest.raises(RenderError) as caught:
        await rendered(template(text), tmp_path)
    assert problem in caught.value.message
    assert caught.value.line == line


async def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    text = "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
    assert [d["metadata"]["name"] for d in await rendered(template(text), tmp_path)] == ["a"]


async def test_the_sandbox_refuses_unsafe_access(tmp_path: Path) -> None:
    text = "a: {{ values.__class__.__mro__ }}\n"
    with pytest.raises(RenderError):
        await rendered(template(text), tmp_path)


def test_sample_cluster_is_lenient_only_about_cluster_facts() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ cluster.name }}\n"
        "data:\n  region: '{{ cluster.labels.region }}'\n"
        "  size: '{{ cluster.config.size | default(\"small\") }}'\n"
    )
    (doc,) = render.render_inline(
        template(text), values={}, cluster=render.sample_cluster(), namespace="default"
    )
    assert doc["metadata"]["name"] == "example"
    assert doc["data"] == {"region": "", "size": "small"}
    with pytest.raises(RenderError, match="'nope' is undefined"):
        render.render_inline(
            template(text + "  x: '{{ nope }}'\n"),
            values={},
            cluster=render.sample_cluster(),
            namespace="default",
        )
