"""Service delivery end to end: a real ``orbit up``, the real CLI, the real ``kubectl`` against
the simulated clusters' Kubernetes APIs, and the real delivery engine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Orbit, wait_for

pytestmark = pytest.mark.slow

P = "/apis/orbit.k8or.io/v1alpha1/namespaces/default"
KUBECTL = "/usr/bin/kubectl"

WEB = """
apiVersion: orbit.k8or.io/v1alpha1
kind: ServiceTemplate
metadata: {{name: {name}, namespace: default}}
spec:
  version: "{version}"
  parameters:
    type: object
    properties:
      replicas: {{type: integer, minimum: 1, default: 1}}
  resources: |
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web, labels: {{app: web}}}}
    spec:
      replicas: {{{{ replicas }}}}
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec:
          containers:
          - name: web
            image: nginx:{version}
            resources: {{requests: {{cpu: {cpu}, memory: 64Mi}}}}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: web-config, labels: {{app: web}}}}
    data: {{cluster: "{{{{ cluster.name }}}}", version: "{version}"}}
"""


def orbit_env() -> dict[str, str]:
    return {
        "ORBIT_SIM__NODE_LATENCY": "0.1",
        "ORBIT_SIM__POD_LATENCY": "0.2",
        "ORBIT_DELIVERY__DRIFT_INTERVAL": "1",
    }


def apply(orbit: Orbit, text: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orbit.main", "--server", orbit.url, "apply", "-f", "-"],
        input=text,
        text=True,
        capture_output=True,
        env=orbit.env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def clusters(
    count: int, *, prefix: str = "dev", labels: str = "env: dev", services: str = ""
) -> str:
    return "\n---\n".join(
        f"""apiVersion: orbit.k8or.io/v1alpha1
kind: ClusterDeployment
metadata: {{name: {prefix}{i:02d}, namespace: default, labels: {{{labels}}}}}
spec: {{template: sim-single-1-0-0, credential: sim{services}}}"""
        for i in range(count)
    )


def kubectl(orbit: Orbit, cluster: str, tmp: Path, *args: str, ok: bool = True) -> str:
    config = tmp / f"{cluster}.kubeconfig"
    if not config.exists():
        config.write_text(orbit.ok("kubeconfig", cluster))
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if ok:
        assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + (done.stderr if not ok else "")


def mcs(orbit: Orbit, name: str = "web") -> dict[str, Any]:
    return orbit.get_json("mcs", name)  # type: ignore[no-any-return]


def test_kubectl_against_a_simulated_cluster(
    orbit_factory: Callable[..., Orbit], tmp_path: Path
) -> None:
    orbit = orbit_factory(**orbit_env())
    orbit.start()
    orbit.ok(
        "create",
        "cluster",
        "kube",
        "--template",
        "sim-single-1-0-0",
        "--set",
        "workers=1",
        "--wait",
        "--timeout",
        "2m",
    )
    nodes = kubectl(orbit, "kube", tmp_path, "get", "nodes")
    assert "kube-cp-0" in nodes and "kube-worker-0" in nodes and "Ready" in nodes
    manifest = tmp_path / "app.yaml"
    manifest.write_text("""apiVersion: v1
kind: ConfigMap
metadata: {name: hello, namespace: default, labels: {app: x}}
data: {greeting: hi}
""")
    kubectl(orbit, "kube", tmp_path, "apply", "--server-side", "-f", str(manifest))
    back = kubectl(orbit, "kube", tmp_path, "get", "cm", "-l", "app=x", "-o", "yaml")
    assert "greeting: hi" in back


def test_mcs_delivers_to_twenty_clusters_and_follows_labels(
    orbit_factory: Callable[..., Orbit], tmp_path: Path
) -> None:
    orbit = orbit_factory(**orbit_env())
    orbit.start()
    apply(orbit, WEB.format(name="web-1-0-0", version="1.0.0", cpu="10m"))
    apply(orbit, clusters(20))
    apply(
        orbit,
        """apiVersion: orbit.k8or.io/v1alpha1
kind: MultiClusterService
metadata: {name: web, namespace: default}
spec:
  clusterSelector: {matchLabels: {env: dev}}
  services: [{name: web, template: web-1-0-0, namespace: apps}]
  rollout: {maxUnavailable: "100%"}
""",
    )
    wait_for(
        lambda: mcs(orbit)["status"].get("summary") == "20/20 deployed",
        timeout=240,
        what="20/20 deployed",
        on_fail=lambda: json.dumps(mcs(orbit)["status"])[:3000],
    )
    deploy = kubectl(orbit, "dev07", tmp_path, "get", "deploy", "-A")
    assert "web" in deploy and "1/1" in deploy
    assert "dev07" in kubectl(
        orbit, "dev07", tmp_path, "get", "cm", "web-config", "-n", "apps", "-o", "yaml"
    )
    assert "Deployed" in orbit.ok("get", "services", "-c", "dev07")

    apply(orbit, clusters(1, prefix="late"))
    wait_for(
        lambda: mcs(orbit)["status"].get("summary") == "21/21 deployed",
        timeout=120,
        what="the new cluster to get the services",
    )
    relabel = httpx.patch(
        f"{orbit.url}{P}/clusterdeployments/dev03",
        json={"metadata": {"labels": {"env": "staging"}}},
        headers={
            "Content-Type": "application/merge-patch+json",
            "Authorization": f"Bearer {orbit.token}",
        },
        timeout=10,
    )
    assert relabel.status_code == 200, relabel.text
    wait_for(
        lambda: mcs(orbit)["status"].get("summary") == "20/20 deployed",
        timeout=120,
        what="the relabelled cluster to leave",
    )

    def gone() -> bool:
        out = kubectl(orbit, "dev03", tmp_path, "get", "cm", "web-config", "-n", "apps", ok=False)
        return "NotFound" in out or "not found" in out

    wait_for(gone, timeout=60, what="the services removed from the relabelled cluster")
    described = orbit.ok("describe", "mcs", "web")
    assert "Summary:" in described and "20/20 deployed" in described


def test_a_rollout_that_cannot_become_healthy_rolls_back_its_wave_only(
    orbit_factory: Callable[..., Orbit],
) -> None:
    orbit = orbit_factory(**orbit_env())
    orbit.start()
    apply(orbit, WEB.format(name="web-1-0-0", version="1.0.0", cpu="10m"))
    apply(orbit, WEB.format(name="web-2-0-0", version="2.0.0", cpu="64"))  # fits nowhere
    apply(orbit, clusters(6))
    spec = """apiVersion: orbit.k8or.io/v1alpha1
kind: MultiClusterService
metadata: {{name: web, namespace: default}}
spec:
  clusterSelector: {{matchLabels: {{env: dev}}}}
  services: [{{name: web, template: {template}}}]
  rollout:
    maxUnavailable: 1
    soakTime: 1s
    progressDeadline: 8s
    onFailure: Rollback
    waves:
    - {{name: first, percent: 33}}
    - {{name: second, percent: 66}}
    - {{name: third, percent: 100}}
"""
    apply(orbit, spec.format(template="web-1-0-0"))
    wait_for(
        lambda: mcs(orbit)["status"]["rollout"].get("state") == "Complete",
        timeout=240,
        what="revision 1 complete",
        on_fail=lambda: json.dumps(mcs(orbit)["status"])[:3000],
    )
    apply(orbit, spec.format(template="web-2-0-0"))
    wait_for(
        lambda: mcs(orbit)["status"]["rollout"].get("state") == "RolledBack",
        timeout=240,
        what="the failed wave rolled back",
        on_fail=lambda: json.dumps(mcs(orbit)["status"])[:3000],
    )
    status = mcs(orbit)["status"]
    assert status["rollout"]["failedWave"] == "first"
    assert (
        "Unschedulable" in status["rollout"]["message"]
        or "ProgressDeadlineExceeded" in status["rollout"]["message"]
    )
    later = [c for c in status["clusters"] if c["wave"] in ("second", "third")]
    assert len(later) == 4 and all(c["revision"] == 1 for c in later)
    wait_for(
        lambda: mcs(orbit)["status"].get("summary") == "6/6 deployed",
        timeout=120,
        what="the rolled-back wave healthy again on revision 1",
    )
    assert "RolledBack" in orbit.ok("events", "mcs/web")


def test_drift_is_restored_or_reported_per_sync_mode(
    orbit_factory: Callable[..., Orbit], tmp_path: Path
) -> None:
    orbit = orbit_factory(**orbit_env())
    orbit.start()
    for name in ("heal", "watch"):
        apply(
            orbit,
            f"""apiVersion: orbit.k8or.io/v1alpha1
kind: ServiceTemplate
metadata: {{name: {name}-1-0-0, namespace: default}}
spec:
  version: 1.0.0
  resources: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: {name}}}
    data: {{owner: orbit}}
""",
        )
    services = (
        ", services: [{name: heal, template: heal-1-0-0, syncMode: "
        "ContinuousWithDriftDetection}, {name: watch, template: watch-1-0-0, "
        "syncMode: Continuous}]"
    )
    apply(orbit, clusters(1, prefix="drift", services=services))
    wait_for(
        lambda: orbit.ok("get", "services", "-c", "drift00").count("Deployed") == 2,
        timeout=120,
        what="both services deployed",
        on_fail=lambda: orbit.ok("get", "services", "-c", "drift00"),
    )
    kubectl(orbit, "drift00", tmp_path, "delete", "cm", "heal", "watch")

    def healed() -> bool:
        return "orbit" in kubectl(
            orbit, "drift00", tmp_path, "get", "cm", "heal", "-o", "yaml", ok=False
        )

    wait_for(healed, timeout=60, what="the deleted ConfigMap restored")
    assert "DriftCorrected" in orbit.ok("events", "-A")
    wait_for(
        lambda: "Drifted" in orbit.ok("get", "services", "-c", "drift00"),
        timeout=60,
        what="the Continuous service reported Drifted",
    )
    missing = kubectl(orbit, "drift00", tmp_path, "get", "cm", "watch", ok=False)
    assert "NotFound" in missing or "not found" in missing
