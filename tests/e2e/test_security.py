"""Identity end to end, through the real CLI against a real ``orbit up``: an engineer in team-a
works from the shared catalog as the access rules allow, never sees a secret, and a scan of
everything Orbit keeps or says (database file, log, API answers, events, audit log) finds none
of the secret values planted along the way."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.conftest import Orbit

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).parents[2] / "examples"
PLANTED = {
    "password": "planted-password-5d2c9e0b7a41",
    "token": "planted-token-a83f61c0d9e2",
}
ROTATED = "planted-rotated-0c9b7e3f1a55"


def manifest(path: Path, *docs: dict) -> Path:  # type: ignore[type-arg]
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_engineer_in_team_a_and_a_leak_scan(
    orbit_factory: Callable[..., Orbit], tmp_path: Path
) -> None:
    orbit = orbit_factory(ORBIT_LOG_LEVEL="DEBUG")
    orbit.start()
    token_path = orbit.data_dir / "admin.token"
    assert oct(token_path.stat().st_mode & 0o777) == "0o600"
    assert f"admin token: {token_path}" in orbit.log_tail(100_000)  # DEBUG: many lines follow
    orbit.ok("apply", "-f", str(EXAMPLES))  # team-a, its templates, the AccessRule

    # A platform lead's credential in the shared catalog, with secret values.
    orbit.ok(
        "apply",
        "-f",
        str(
            manifest(
                tmp_path / "lead.yaml",
                {
                    "apiVersion": "orbit.k8or.io/v1alpha1",
                    "kind": "Credential",
                    "metadata": {"name": "cloud", "namespace": "default"},
                    "spec": {"provider": "sim", "secretData": PLANTED},
                },
                {
                    "apiVersion": "orbit.k8or.io/v1alpha1",
                    "kind": "User",
                    "metadata": {"name": "erin"},
                    "spec": {"displayName": "Erin Engineer"},
                },
                {
                    "apiVersion": "orbit.k8or.io/v1alpha1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "erin-edits", "namespace": "team-a"},
                    "spec": {
                        "role": "namespace-editor",
                        "subjects": [{"kind": "User", "name": "erin"}],
                    },
                },
            )
        ),
    )
    # A secret value in a refused request must not come back in the error either.
    refused = orbit.cli(
        "apply",
        "-f",
        str(
            manifest(
                tmp_path / "bad.yaml",
                {
                    "apiVersion": "orbit.k8or.io/v1alpha1",
                    "kind": "Credential",
                    "metadata": {"name": "broken", "namespace": "default"},
                    "spec": {"provider": "", "secretData": {"x": ROTATED}},
                },
            )
        ),
    )
    assert refused.returncode == 1 and ROTATED not in refused.stdout + refused.stderr

    erin_token = orbit.ok("token", "create", "--user", "erin", "-d", "e2e").strip()
    token_file = tmp_path / "erin.token"
    token_file.write_text(erin_token)
    erin_config = tmp_path / "erin-config"
    erin_env = {**orbit.env, "ORBIT_CONFIG": str(erin_config)}

    def erin(*args: str) -> tuple[int, str]:
        import subprocess
        import sys

        done = subprocess.run(
            [sys.executable, "-m", "orbit.main", *args],
            env=erin_env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr

    code, out = erin("login", "--server", orbit.url, "--token-file", str(token_file))
    assert code == 0, out
    assert oct(erin_config.stat().st_mode & 0o777) == "0o600"
    code, out = erin("whoami")
    assert code == 0 and "erin" in out and "namespace-editor" in out, out

    # Allowed: a catalog template and credential the AccessRule names.
    code, out = erin(
        "create", "cluster", "demo", "-n", "team-a",
        "--template", "sim-single-1-0-0", "--credential", "sim", "--wait", "--timeout", "3m",
    )  # fmt: skip
    assert code == 0, out
    # Refused, naming the rule: a template and a credential it does not allow.
    code, out = erin(
        "create", "cluster", "big", "-n", "team-a",
        "--template", "sim-ha-1-0-0", "--credential", "sim",
    )  # fmt: skip
    assert code == 1 and "team-a-basics" in out, out
    code, out = erin(
        "create", "cluster", "costly", "-n", "team-a",
        "--template", "sim-single-1-0-0", "--credential", "cloud",
    )  # fmt: skip
    assert code == 1 and "cloud" in out and "team-a-basics" in out, out
    # Never a secret, by any route: not her namespace, and write-only anyway.
    code, out = erin("get", "credential", "cloud", "-n", "default", "-o", "json")
    assert code == 1 and "may not get credentials" in out, out
    admin_view = json.loads(orbit.ok("get", "credential", "cloud", "-n", "default", "-o", "json"))
    assert sorted(admin_view["spec"]["secretKeys"]) == sorted(PLANTED)
    assert "secretData" not in admin_view["spec"]
    code, out = erin("kubeconfig", "demo", "-n", "team-a")
    assert code == 0 and "clusters/team-a/demo/proxy" in out, out
    assert erin_token in out  # her own identity, never the cluster's admin credential

    # Rotate the key-encryption key: the secrets stay readable to Orbit, sealed anew.
    rotated = json.loads(orbit.ok("admin", "rotate-key", "--json"))
    assert rotated["remaining"] == 0

    # -- the scan -----------------------------------------------------------------------
    cluster_uid = orbit.get_json("cluster", "demo", "-n", "team-a")["metadata"]["uid"]
    with sqlite3.connect(orbit.data_dir / "simplane.db") as sim:
        (cluster_token,) = sim.execute(
            "SELECT token FROM simplane_clusters WHERE uid = ?", (cluster_uid,)
        ).fetchone()
    # API tokens are secrets too: only their argon2 hashes are kept, and nothing says them.
    secrets = [*PLANTED.values(), ROTATED, cluster_token, orbit.token, erin_token]

    said: list[str] = []
    headers = {"Authorization": f"Bearer {orbit.token}"}
    with httpx.Client(base_url=orbit.url, headers=headers, timeout=30) as http:
        for plural in (
            "namespaces", "credentials", "clustertemplates", "clusterdeployments", "events",
            "servicetemplates", "servicesets", "multiclusterservices", "users", "rolebindings",
            "clusterrolebindings", "accessrules",
        ):  # fmt: skip
            answer = http.get(f"/apis/orbit.k8or.io/v1alpha1/{plural}")
            assert answer.status_code == 200, answer.text
            said.append(answer.text)
        said.append(http.get("/audit/v1/records", params={"limit": 1000}).text)
        said.append(http.get("/auth/v1/tokens", params={"all": "true"}).text)
    said.append(orbit.ok("events", "-A"))
    said.append(orbit.ok("audit", "-o", "json", "--limit", "1000"))
    said.append(orbit.log_tail(100_000))
    stored = b"".join(
        path.read_bytes() for path in orbit.data_dir.glob("orbit.db*") if path.is_file()
    )
    for value in secrets:
        assert value.encode() not in stored, f"{value[:12]}... is in the database file"
        for text in said:
            assert value not in text, f"{value[:12]}... was said: {text[:200]}"
    # The audit log saw erin's attempts, refused ones included.
    listed = orbit.ok("audit", "-o", "json", "--actor", "erin", "--limit", "100")
    records = json.loads(listed)["items"]
    outcomes = {(r["verb"], r["outcome"]) for r in records}
    assert ("create", "success") in outcomes and ("create", "failed") in outcomes, outcomes
