"""The ServiceTemplate status controller against the real store: valid, invalid with the line,
values required, git sources re-checked, and unreachable sources retried with growing delays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orbit.api import v1alpha1
from orbit.controllers.servicetemplate import ServiceTemplateReconciler
from orbit.runtime import EventRecorder, Request, Result
from orbit.store import SqlStore
from tests.delivery.test_sources_git import CONFIGMAP, Repo

GOOD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '{{ cluster.name }}-{{ size }}'\n"
SCHEMA = {"type": "object", "properties": {"size": {"type": "string", "default": "s"}}}


@pytest.fixture
async def reconciler(store: SqlStore, tmp_path: Path) -> ServiceTemplateReconciler:
    await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="default")))
    return ServiceTemplateReconciler(
        store,
        cache_dir=tmp_path / "cache",
        recorder=EventRecorder(store, component="servicetemplate-controller"),
        recheck=120.0,
        retry_base=5.0,
        retry_max=15.0,
        git_max_age=0.0,
    )


async def put(store: SqlStore, name: str, **spec: object) -> v1alpha1.ServiceTemplate:
    spec.setdefault("parameters", SCHEMA)
    return await store.create(
        v1alpha1.ServiceTemplate(
            metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
            spec=v1alpha1.ServiceTemplateSpec.model_validate({"version": "1", **spec}),
        )
    )


async def reconcile(
    store: SqlStore, reconciler: ServiceTemplateReconciler, name: str
) -> tuple[Result, v1alpha1.ServiceTemplate]:
    result = await reconciler.reconcile(Request("ServiceTemplate", "default", name))
    return result, await store.get(v1alpha1.ServiceTemplate, "default", name)


def valid(template: v1alpha1.ServiceTemplate) -> v1alpha1.Condition:
    cond = v1alpha1.get_condition(template.status.conditions, "Valid")
    assert cond is not None
    return cond


async def test_inline_template_that_renders(
    store: SqlStore, reconciler: ServiceTemplateReconciler
) -> None:
    await put(store, "good", resources=GOOD)
    result, tpl = await reconcile(store, reconciler, "good")
    assert result == Result()
    assert tpl.status.valid is True
    assert tpl.status.observed_generation == 1
    cond = valid(tpl)
    assert (cond.status, cond.reason) == ("True", "Rendered")
    assert cond.message == "renders 1 object(s) with the defaults: ConfigMap/example-s"
    events = (await store.list(v1alpha1.Event, "default")).items
    assert [(e.reason, e.type) for e in events] == [("Rendered", "Normal")]

    # A pass that finds nothing new writes nothing.
    _, again = await reconcile(store, reconciler, "good")
    assert again.metadata.resource_version == tpl.metadata.resource_version


async def test_inline_template_that_does_not_render(
    store: SqlStore, reconciler: ServiceTemplateReconciler
) -> None:
    await put(store, "bad", resources=GOOD + "data:\n  a: {{ nope }}\n")
    _, tpl = await reconcile(store, reconciler, "bad")
    assert tpl.status.valid is False
    cond = valid(tpl)
    assert (cond.status, cond.reason, cond.message) == (
        "False",
        "RenderFailed",
        "line 6: 'nope' is undefined",
    )
    assert tpl.status.message == "line 6: 'nope' is undefined"
    events = (await store.list(v1alpha1.Event, "default")).items
    assert [(e.reason, e.type) for e in events] == [("RenderFailed", "Warning")]


async def test_required_values_leave_validity_unknown(
    store: SqlStore, reconciler: ServiceTemplateReconciler
) -> None:
    schema = {"type": "object", "required": ["size"], "properties": {"size": {"type": "string"}}}
    await put(store, "needs", resources=GOOD, parameters=schema)
    _, tpl = await reconcile(store, reconciler, "needs")
    assert tpl.status.valid is None
    assert (valid(tpl).status, valid(tpl).reason) == ("Unknown", "ValuesRequired")
    assert "'size' is a required property" in valid(tpl).message


async def test_git_template_is_rechecked(
    store: SqlStore, reconciler: ServiceTemplateReconciler, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.commit({"deploy/cm.yaml": CONFIGMAP.format(name="cm").replace("values.color", "size")})
    await put(store, "from-git", git={"url": repo.url, "ref": "main", "path": "deploy"})
    result, tpl = await reconcile(store, reconciler, "from-git")
    assert result == Result(requeue_after=120.0)
    assert tpl.status.valid is True

    repo.commit({"deploy/cm.yaml": "kind: ConfigMap\n"})
    _, tpl = await reconcile(store, reconciler, "from-git")
    assert tpl.status.valid is False
    assert valid(tpl).message.startswith("deploy/cm.yaml: line 1 of the rendered text: ")


async def test_unreachable_sources_are_retried_with_growing_delays(
    store: SqlStore, reconciler: ServiceTemplateReconciler, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.commit({"cm.yaml": CONFIGMAP.format(name="cm")})
    await put(store, "lost", git={"url": repo.url, "ref": "no-such-ref"})
    delays = []
    for _ in range(4):
        result, tpl = await reconcile(store, reconciler, "lost")
        delays.append(result.requeue_after)
    assert delays == [5.0, 10.0, 15.0, 15.0]
    assert tpl.status.valid is False
    assert valid(tpl).reason == "SourceUnavailable"
    assert "couldn't find remote ref no-such-ref" in valid(tpl).message


async def test_helm_not_installed(
    store: SqlStore,
    reconciler: ServiceTemplateReconciler,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty") + os.pathsep)
    await put(store, "chart", helm={"chart": "oci://charts.example/web"})
    result, tpl = await reconcile(store, reconciler, "chart")
    assert result == Result(requeue_after=5.0)
    assert valid(tpl).reason == "SourceUnavailable"
    assert "the helm binary is not installed" in valid(tpl).message


async def test_a_missing_template_is_done(reconciler: ServiceTemplateReconciler) -> None:
    assert await reconciler.reconcile(Request("ServiceTemplate", "default", "gone")) == Result()
