"""A platform engineer's day, through the real CLI against a real ``orbit up``: create from the
default catalog, scale, upgrade, expire, delete."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import Orbit, wait_for

pytestmark = pytest.mark.slow


def _cluster(orbit: Orbit, name: str) -> dict:  # type: ignore[type-arg]
    return orbit.get_json("cluster", name)  # type: ignore[no-any-return]


def _workers(cluster: dict) -> list[dict]:  # type: ignore[type-arg]
    return [n for n in cluster["status"]["nodes"]["items"] if n["role"] == "worker"]


def test_create_scale_upgrade_delete(orbit_factory: Callable[..., Orbit]) -> None:
    orbit = orbit_factory()
    orbit.start()

    templates = orbit.ok("get", "clustertemplates")
    for name in ("sim-single-1-0-0", "sim-single-1-1-0", "sim-ha-1-0-0", "sim-ha-1-1-0"):
        assert name in templates

    orbit.ok(
        "create",
        "cluster",
        "demo",
        "--template",
        "sim-ha-1-0-0",
        "--set",
        "workers=1",
        "--label",
        "team=a",
        "--wait",
        "--timeout",
        "3m",
    )
    cluster = _cluster(orbit, "demo")
    assert cluster["status"]["phase"] == "Ready"
    assert (cluster["status"]["nodes"]["ready"], cluster["status"]["nodes"]["total"]) == (4, 4)
    assert cluster["status"]["availableUpgrades"] == ["sim-ha-1-1-0"]
    conditions = {c["type"]: c["status"] for c in cluster["status"]["conditions"]}
    for type_ in (
        "TemplateValid",
        "CredentialValid",
        "InfrastructureReady",
        "ControlPlaneReady",
        "WorkersReady",
        "Ready",
    ):
        assert conditions[type_] == "True", conditions

    orbit.ok("scale", "cluster", "demo", "--workers", "3", "--wait", "--timeout", "3m")
    cluster = _cluster(orbit, "demo")
    assert len(_workers(cluster)) == 3 and all(n["ready"] for n in _workers(cluster))

    orbit.ok("scale", "cluster", "demo", "--workers", "1", "--wait", "--timeout", "3m")
    assert len(_workers(_cluster(orbit, "demo"))) == 1

    orbit.ok(
        "upgrade", "cluster", "demo", "--template", "sim-ha-1-1-0", "--wait", "--timeout", "3m"
    )
    cluster = _cluster(orbit, "demo")
    assert cluster["status"]["kubernetesVersion"] == "v1.31.2+k3s1"
    assert {n["kubernetesVersion"] for n in cluster["status"]["nodes"]["items"]} == {"v1.31.2+k3s1"}
    assert cluster["status"]["template"] == "sim-ha-1-1-0"

    events = orbit.ok("events", "cluster/demo")
    for reason in ("Provisioning", "Ready", "Scaling", "Upgrading"):
        assert reason in events, events

    uid = cluster["metadata"]["uid"]
    assert orbit.sim_api(f"/simplane/v1/clusters/{uid}").status_code == 200
    orbit.ok("delete", "cluster", "demo", "--wait", "--timeout", "2m")
    assert orbit.cli("get", "cluster", "demo").returncode != 0
    assert orbit.sim_api(f"/simplane/v1/clusters/{uid}").status_code == 404


def test_ttl_cluster_expires_with_an_event(orbit_factory: Callable[..., Orbit]) -> None:
    orbit = orbit_factory()
    orbit.start()
    # 20 s: long enough for the next CLI call to find it on a loaded machine (with 5 s, a CI
    # run once saw it expire before `orbit get` started).
    orbit.ok("create", "cluster", "short", "--template", "sim-single-1-0-0", "--ttl", "20s")
    uid = _cluster(orbit, "short")["metadata"]["uid"]

    def gone() -> bool:
        return orbit.cli("get", "cluster", "short").returncode != 0

    wait_for(gone, timeout=120, what="the ttl cluster to disappear", on_fail=orbit.log_tail)
    events = orbit.ok("events", "cluster/short")
    assert "Expired" in events and "ttl 20s" in events
    assert orbit.sim_api(f"/simplane/v1/clusters/{uid}").status_code == 404


def test_examples_apply_and_come_up(orbit_factory: Callable[..., Orbit]) -> None:
    from pathlib import Path

    orbit = orbit_factory()
    orbit.start()
    examples = Path(__file__).resolve().parents[2] / "examples"
    out = orbit.ok("apply", "-f", str(examples))
    assert "created" in out
    for name in ("feature-login", "staging"):
        orbit.ok("get", "cluster", name, "-n", "team-a")

    def ready() -> bool:
        items = orbit.get_json("clusters", "-n", "team-a")["items"]
        return sorted(c["status"].get("phase") for c in items) == ["Ready", "Ready"]

    wait_for(ready, timeout=120, what="the example clusters", on_fail=orbit.log_tail)
    staging = orbit.get_json("cluster", "staging", "-n", "team-a")
    assert staging["status"]["nodes"]["total"] == 4
    assert "unchanged" in orbit.ok("apply", "-f", str(examples))

    orbit.ok("apply", "-f", str(examples / "services"))

    def delivered() -> bool:
        mcs = orbit.get_json("mcs", "web", "-n", "team-a")
        return mcs["status"].get("summary") == "2/2 deployed"

    wait_for(
        delivered,
        timeout=180,
        what="the example service on both clusters",
        on_fail=lambda: orbit.ok("describe", "mcs", "web", "-n", "team-a"),
    )
    services = orbit.ok("get", "services", "-c", "staging", "-n", "team-a")
    assert "web" in services and "Deployed" in services
