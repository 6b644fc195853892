"""The external tools behind sources: kustomize, and helm — missing (it is not installed on
this machine: a SourceUnavailable that says how to fix it) or faked by a small script that
shows how Orbit calls it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.delivery import render, sources
from orbit.delivery.render import ClusterContext, RenderError, SourceUnavailable

CLUSTER = ClusterContext(name="c1", namespace="team-a", labels={}, config={})

# A stand-in for helm: prints its arguments and values file as a ConfigMap, or fails as asked.
FAKE_HELM = """\
import json, sys
args = sys.argv[1:]
values = open(args[args.index("-f") + 1]).read()
if "fail-fetch" in args:
    sys.stderr.write('Error: failed to fetch https://charts.example/index.yaml : 404\\n')
    sys.exit(1)
if "fail-render" in args:
    sys.stderr.write('Error: parse error at (web/templates/x.yaml:3): unexpected EOF\\n')
    sys.exit(1)
print("# Source: web/templates/cm.yaml")
print("apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: " + args[1] + "-args")
print("data:\\n  args: " + json.dumps(json.dumps(args)) + "\\n  values: " + json.dumps(values))
"""


def helm_template(chart: str, **source: Any) -> v1alpha1.ServiceTemplate:
    return v1alpha1.ServiceTemplate(
        metadata=v1alpha1.ObjectMeta(name="web-chart-1", namespace="team-a"),
        spec=v1alpha1.ServiceTemplateSpec(
            version="1",
            parameters={
                "type": "object",
                "properties": {"replicas": {"type": "integer", "default": 2}},
            },
            helm=v1alpha1.HelmSource(chart=chart, **source),
        ),
    )


@pytest.fixture
def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "helm"
    script.write_text(f"#!{sys.executable}\n{FAKE_HELM}")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return script


async def test_helm_missing_is_source_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SourceUnavailable) as caught:
        await render.render_service(
            helm_template("oci://charts.example/web"),
            values={},
            cluster=CLUSTER,
            namespace="apps",
            cache_dir=tmp_path,
        )
    assert str(caught.value) == (
        "the helm binary is not installed on the Orbit server; install helm 3 to deliver "
        "chart 'oci://charts.example/web'"
    )


async def test_helm_template_is_called_with_release_chart_and_values(
    tmp_path: Path, fake_helm: Path
) -> None:
    (doc,) = await render.render_service(
        helm_template("web", repo="https://charts.example", version="1.2.3"),
        values={"replicas": 4},
        cluster=CLUSTER,
        namespace="apps",
        cache_dir=tmp_path / "cache",
        release="frontend",
    )
    args = json.loads(doc["data"]["args"])
    assert args[:3] == ["template", "frontend", "web"]
    assert args[3:9] == [
        "--repo",
        "https://charts.example",
        "--version",
        "1.2.3",
        "--namespace",
        "apps",
    ]
    assert doc["data"]["values"] == "replicas: 4\n"
    assert doc["metadata"] == {"name": "frontend-args", "namespace": "apps"}


async def test_helm_fetch_failure_is_source_unavailable(tmp_path: Path, fake_helm: Path) -> None:
    with pytest.raises(SourceUnavailable, match="helm could not fetch 'chart fail-fetch'"):
        await render.render_service(
            helm_template("fail-fetch"),
            values={},
            cluster=CLUSTER,
            namespace="apps",
            cache_dir=tmp_path,
        )


async def test_helm_render_failure_is_a_render_error(tmp_path: Path, fake_helm: Path) -> None:
    with pytest.raises(RenderError) as caught:
        await render.render_service(
            helm_template("fail-render"),
            values={},
            cluster=CLUSTER,
            namespace="apps",
            cache_dir=tmp_path,
        )
    assert caught.value.source == "chart fail-render"
    assert "unexpected EOF" in caught.value.message


async def test_kustomize_output(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "namePrefix: team-\nresources:\n- svc.yaml\n"
        "configMapGenerator:\n- name: settings\n  literals:\n  - mode=fast\n"
    )
    (tmp_path / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n"
    )
    docs = await sources.kustomize(tmp_path, label="base")
    names = sorted(d["metadata"]["name"] for d in docs)
    assert names[1] == "team-web"
    assert names[0].startswith("team-settings-")


async def test_kustomize_missing_is_source_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SourceUnavailable, match="neither kubectl nor kustomize"):
        await sources.kustomize(tmp_path, label="base")


async def test_a_tool_that_hangs_is_killed(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match=r"did not finish within 0\.2 s"):
        await sources.run([sys.executable, "-c", "import time; time.sleep(30)"], time_limit=0.2)
