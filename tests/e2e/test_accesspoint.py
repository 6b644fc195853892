"""AccessPoint end to end: a real ``orbit up``, users and role bindings made through the API by
the admin, ``orbit kubeconfig`` run by each user with their own token, and the real kubectl
through Orbit's HTTPS listener to a simulated cluster.

Shows the issue's "done when": kubectl lists nodes as a namespace-viewer and is refused a
delete (kubectl prints the Forbidden message naming the permission); as a namespace-editor the
delete works and is audited. Plus: the kubeconfig never holds the cluster's own token, and a
revoked token stops the kubeconfig working.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.conftest import Orbit

pytestmark = pytest.mark.slow

P = "/apis/orbit.k8or.io/v1alpha1"
KUBECTL = "/usr/bin/kubectl"

SETUP = """
apiVersion: orbit.k8or.io/v1alpha1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: orbit.k8or.io/v1alpha1
kind: AccessRule
metadata: {name: team-a-sim}
spec:
  targetNamespaces: {list: [team-a]}
  clusterTemplates: ["sim-*"]
  credentials: [sim]
---
apiVersion: orbit.k8or.io/v1alpha1
kind: User
metadata: {name: vera}
---
apiVersion: orbit.k8or.io/v1alpha1
kind: User
metadata: {name: eddie}
---
apiVersion: orbit.k8or.io/v1alpha1
kind: RoleBinding
metadata: {name: viewers, namespace: team-a}
spec:
  role: namespace-viewer
  subjects: [{kind: User, name: vera}]
---
apiVersion: orbit.k8or.io/v1alpha1
kind: RoleBinding
metadata: {name: editors, namespace: team-a}
spec:
  role: namespace-editor
  subjects: [{kind: User, name: eddie}]
"""


def as_user(orbit: Orbit, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The orbit CLI with ``token`` (ORBIT_TOKEN), as that user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "orbit.main", "--server", orbit.url, *args],
        env={**orbit.env, "ORBIT_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def issue_token(orbit: Orbit, user: str) -> str:
    response = httpx.post(
        f"{orbit.url}/auth/v1/tokens",
        json={"user": user},
        headers={"Authorization": f"Bearer {orbit.token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def kubeconfig(orbit: Orbit, token: str, tmp: Path, name: str) -> Path:
    done = as_user(orbit, token, "kubeconfig", "demo", "-n", "team-a")
    assert done.returncode == 0, done.stdout + done.stderr
    path = tmp / f"{name}.kubeconfig"
    path.write_text(done.stdout)
    return path


def kubectl(config: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(tmp)}
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(config), "--cache-dir", str(tmp / "kube-cache"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def audit_records(orbit: Orbit, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    response = orbit.api(f"/audit/v1/records?{query}")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def kubectl_binary() -> str:
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip(f"{KUBECTL} is not installed")
    return KUBECTL


@pytest.mark.usefixtures("kubectl_binary")
def test_kubectl_through_the_accesspoint(
    orbit_factory: Callable[..., Orbit], tmp_path: Path
) -> None:
    orbit = orbit_factory(ORBIT_SIM__NODE_LATENCY="0.1")
    orbit.start()
    applied = subprocess.run(
        [sys.executable, "-m", "orbit.main", "--server", orbit.url, "apply", "-f", "-"],
        input=SETUP,
        env=orbit.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    orbit.ok(
        "create", "cluster", "demo", "-n", "team-a", "--template", "sim-single-1-0-0",
        "--credential", "sim", "--set", "workers=1", "--wait", "--timeout", "2m",
    )  # fmt: skip
    viewer, editor = issue_token(orbit, "vera"), issue_token(orbit, "eddie")
    viewer_config = kubeconfig(orbit, viewer, tmp_path, "vera")
    editor_config = kubeconfig(orbit, editor, tmp_path, "eddie")

    # The kubeconfig: the AccessPoint over HTTPS, the caller's token, never the cluster's.
    doc = yaml.safe_load(viewer_config.read_text())
    server = doc["clusters"][0]["cluster"]["server"]
    https_port = orbit.env["ORBIT_ACCESS_POINT__HTTPS_PORT"]
    assert server == f"https://127.0.0.1:{https_port}/clusters/team-a/demo/proxy"
    assert doc["users"][0]["user"] == {"token": viewer}
    uid = orbit.get_json("cluster", "demo", "-n", "team-a")["metadata"]["uid"]
    own = orbit.sim_api(f"/simplane/v1/clusters/{uid}")
    assert own.status_code == 200, own.text
    for path in (viewer_config, editor_config):
        text = path.read_text()
        assert orbit.token not in text
        for secret in _cluster_secrets(orbit, uid):
            assert secret not in text

    made = kubectl(editor_config, tmp_path, "create", "configmap", "doomed", "--from-literal=a=b")
    assert made.returncode == 0, made.stderr

    nodes = kubectl(viewer_config, tmp_path, "get", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    assert "demo-cp-0" in nodes.stdout and "Ready" in nodes.stdout

    refused = kubectl(viewer_config, tmp_path, "delete", "configmap", "doomed")
    assert refused.returncode != 0
    assert "Error from server (Forbidden)" in refused.stderr
    assert 'clusterdeployments/proxy:delete in namespace "team-a"' in refused.stderr

    deleted = kubectl(editor_config, tmp_path, "delete", "configmap", "doomed")
    assert deleted.returncode == 0, deleted.stderr
    assert 'configmap "doomed" deleted' in deleted.stdout

    records = audit_records(orbit, resource="clusterdeployments/proxy", verb="delete")
    by_actor = {r["actor"]: r for r in records}
    assert by_actor["eddie"]["outcome"] == "success"
    assert by_actor["eddie"]["namespace"] == "team-a" and by_actor["eddie"]["name"] == "demo"
    assert by_actor["eddie"]["path"].endswith("/api/v1/namespaces/default/configmaps/doomed")
    assert by_actor["vera"]["outcome"] == "denied"

    # Revoking the token revokes the kubeconfig.
    token_id = viewer.split("_")[1]
    revoked = httpx.delete(
        f"{orbit.url}/auth/v1/tokens/{token_id}",
        headers={"Authorization": f"Bearer {orbit.token}"},
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text
    after = kubectl(viewer_config, tmp_path, "get", "nodes")
    assert after.returncode != 0
    assert "Unauthorized" in after.stderr or "logged in" in after.stderr


def _cluster_secrets(orbit: Orbit, uid: str) -> list[str]:
    """The cluster's own bearer token, as the provider hands it to Orbit (read straight from
    the simulated plane's database, as only the infrastructure knows it)."""
    with contextlib.closing(sqlite3.connect(orbit.data_dir / "simplane.db")) as db:
        rows = db.execute("SELECT token FROM simplane_clusters WHERE uid = ?", (uid,)).fetchall()
    assert rows, "the simulated plane has no record of the cluster"
    return [str(row[0]) for row in rows]
