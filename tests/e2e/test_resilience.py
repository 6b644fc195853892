"""No crash, killed process or flaky provider loses state, leaks a cluster or creates one twice."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Orbit, wait_for

pytestmark = pytest.mark.slow

COUNT = 50


def _apply_clusters(
    orbit: Orbit, count: int, *, prefix: str = "c", credential: str = "sim"
) -> None:
    docs = [
        {
            "apiVersion": "orbit.k8or.io/v1alpha1",
            "kind": "ClusterDeployment",
            "metadata": {"name": f"{prefix}{i:03d}", "namespace": "default"},
            "spec": {
                "template": "sim-single-1-0-0",
                "credential": credential,
                "config": {"workers": 1},
            },
        }
        for i in range(count)
    ]
    manifest = "\n---\n".join(json.dumps(d) for d in docs)
    done = subprocess.run(
        [*orbit_cmd(orbit), "apply", "-f", "-"],
        input=manifest,
        text=True,
        capture_output=True,
        env=orbit.env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def orbit_cmd(orbit: Orbit) -> list[str]:
    import sys

    return [sys.executable, "-m", "orbit.main", "--server", orbit.url]


def _phases(orbit: Orbit) -> dict[str, str]:
    items = orbit.get_json("clusters")["items"]
    return {c["metadata"]["name"]: c["status"].get("phase", "") for c in items}


def _sim_clusters(orbit: Orbit) -> list[dict]:  # type: ignore[type-arg]
    return orbit.sim_api("/simplane/v1/clusters").json()["items"]  # type: ignore[no-any-return]


def test_kill_9_while_provisioning_loses_and_duplicates_nothing(
    orbit_factory: Callable[..., Orbit],
) -> None:
    orbit = orbit_factory(ORBIT_SIM__NODE_LATENCY="2")
    orbit.start()
    _apply_clusters(orbit, COUNT)
    wait_for(
        lambda: len(_sim_clusters(orbit)) >= 10,
        timeout=120,
        what="provisioning to be under way",
        on_fail=orbit.log_tail,
    )
    assert any(p != "Ready" for p in _phases(orbit).values()), "killed too late to prove anything"
    orbit.kill()

    orbit.start()
    wait_for(
        lambda: list(_phases(orbit).values()) == ["Ready"] * COUNT,
        timeout=300,
        what=f"all {COUNT} clusters Ready after the restart",
        on_fail=orbit.log_tail,
    )
    sim = _sim_clusters(orbit)
    assert len(sim) == COUNT
    uids = {c["metadata"]["uid"] for c in orbit.get_json("clusters")["items"]}
    assert {c["uid"] for c in sim} == uids


def test_transient_provider_failures_are_retried_until_ready(
    orbit_factory: Callable[..., Orbit],
) -> None:
    orbit = orbit_factory(
        ORBIT_SIM__FAILURE_RATE="0.3", ORBIT_SIM__SEED="7", ORBIT_SIM__NODE_LATENCY="0.1"
    )
    orbit.start()
    _apply_clusters(orbit, COUNT)
    wait_for(
        lambda: list(_phases(orbit).values()) == ["Ready"] * COUNT,
        timeout=300,
        what=f"all {COUNT} clusters Ready despite 30% faults",
        on_fail=orbit.log_tail,
    )
    assert len(_sim_clusters(orbit)) == COUNT
    log = (orbit.data_dir / "orbit.log").read_text(errors="replace")
    assert "ProviderTransientError" in log, "no fault was injected: the test proved nothing"


def test_permanent_provider_failure_shows_failed_with_its_message(
    orbit_factory: Callable[..., Orbit],
) -> None:
    orbit = orbit_factory()
    orbit.start()
    quota = {
        "apiVersion": "orbit.k8or.io/v1alpha1",
        "kind": "Credential",
        "metadata": {"name": "tiny", "namespace": "default"},
        "spec": {"provider": "sim", "config": {"nodeQuota": 2}},
    }
    subprocess.run(
        [*orbit_cmd(orbit), "apply", "-f", "-"],
        input=json.dumps(quota),
        text=True,
        env=orbit.env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    done = orbit.cli(
        "create",
        "cluster",
        "big",
        "--template",
        "sim-single-1-0-0",
        "--credential",
        "tiny",
        "--set",
        "workers=3",
        "--wait",
        "--timeout",
        "2m",
    )
    assert done.returncode == 1
    assert "quota" in (done.stdout + done.stderr)
    cluster = orbit.get_json("cluster", "big")
    assert cluster["status"]["phase"] == "Failed"
    ready = next(c for c in cluster["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and "quota" in ready["message"]
    assert orbit.sim_api("/simplane/v1/clusters").json()["items"] == []
