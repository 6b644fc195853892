"""The MultiClusterService pages in Chromium: a rollout's waves advance on the page as they
happen (the watch API, no reload), hold/resume and rollback as the API expresses them, and a
viewer sees the rollout but no action."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import add_user
from tests.e2e.conftest import Orbit, new_orbit, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NS = "default"
P = f"/apis/orbit.k8or.io/v1alpha1/namespaces/{NS}"
WEB_TEMPLATE: dict[str, Any] = {
    "metadata": {"name": "web-1-0-0"},
    "spec": {
        "version": "1.0.0",
        "parameters": {
            "type": "object",
            "properties": {"replicas": {"type": "integer", "minimum": 1, "default": 1}},
        },
        "resources": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: {{ replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 10m, memory: 32Mi}}
""",
    },
}
CLUSTERS = {"wave-a": {"ring": "canary"}, "wave-b": {}, "wave-c": {}}


@pytest.fixture(scope="module")
def orbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orbit]:
    """conftest's server, with quick pods and service health checks so that a rollout of a
    few clusters takes seconds."""
    base = tmp_path_factory.mktemp("dashboard-services")
    server = new_orbit(
        base / "orbit",
        ORBIT_CONFIG=str(base / "client-config"),
        ORBIT_SIM__POD_LATENCY="0.3",
        ORBIT_DELIVERY__DRIFT_INTERVAL="1",
    )
    for name in ("ORBIT_TOKEN", "ORBIT_CONTEXT"):
        server.env.pop(name, None)
    server.start()
    yield server
    server.stop()


def call(orbit: Orbit, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {orbit.token}"}
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    answer = httpx.request(method, f"{orbit.url}{path}", json=body, headers=headers, timeout=10)
    assert answer.status_code < 300, answer.text
    return answer.json()


def mcs(orbit: Orbit, name: str) -> dict[str, Any]:
    return call(orbit, "GET", f"{P}/multiclusterservices/{name}")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def fleet(orbit: Orbit) -> list[str]:
    """Three Ready clusters labelled fleet=waves (wave-a also ring=canary) and a
    ServiceTemplate, shared by the module's tests."""
    call(orbit, "POST", f"{P}/servicetemplates", WEB_TEMPLATE)
    for name, labels in CLUSTERS.items():
        body = {
            "metadata": {"name": name, "labels": {"fleet": "waves", **labels}},
            "spec": {"template": "sim-single-1-0-0", "credential": "sim"},
        }
        call(orbit, "POST", f"{P}/clusterdeployments", body)

    def ready() -> bool:
        items = call(orbit, "GET", f"{P}/clusterdeployments?labelSelector=fleet%3Dwaves")["items"]
        return len(items) == 3 and all(c["status"].get("phase") == "Ready" for c in items)

    wait_for(ready, timeout=120, what="three Ready clusters", on_fail=orbit.log_tail)
    return sorted(CLUSTERS)


def service(
    name: str,
    *,
    replicas: int = 1,
    paused: bool = False,
    soak: str = "4s",
    waves: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "clusterSelector": {"matchLabels": {"fleet": "waves"}},
            "services": [
                {
                    "name": "web",
                    "template": "web-1-0-0",
                    "namespace": name,
                    "values": {"replicas": replicas},
                },
            ],
            "paused": paused,
            "rollout": {"maxUnavailable": 2, "soakTime": soak, "waves": waves or []},
        },
    }


def wave(page: Page, name: str) -> Any:
    return page.locator(f'.wave[data-wave="{name}"]')


def test_a_rollouts_waves_advance_on_the_page_as_they_happen(
    page: Page, orbit: Orbit, fleet: list[str]
) -> None:
    # The page is open before the MultiClusterService exists, and stays open throughout.
    page.goto(f"{orbit.url}/ui/services/{NS}/web")
    expect(page.get_by_text("There is no MultiClusterService web in default (yet)")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    waves: list[dict[str, Any]] = [
        {"name": "canary", "selector": {"matchLabels": {"ring": "canary"}}},
        {"name": "rest", "percent": 100},
    ]
    call(orbit, "POST", f"{P}/multiclusterservices", service("web", paused=True, waves=waves))
    expect(page.get_by_role("heading", level=1)).to_have_text("web")
    expect(wave(page, "canary")).to_have_attribute("data-state", "held")
    expect(wave(page, "rest")).to_have_attribute("data-state", "waiting")
    expect(wave(page, "canary")).to_contain_text("wave-a")
    expect(wave(page, "rest")).to_contain_text("wave-b")
    expect(page.get_by_text("spec.paused is true")).to_be_visible()

    # Resume from the keyboard: the button is a real button.
    resume = page.get_by_role("button", name="Resume rollout")
    resume.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Hold rollout")).to_be_visible()
    assert mcs(orbit, "web")["spec"]["paused"] is False

    # Wave 1 in progress, then wave 2 (wave 1 done), then complete: each seen as it happens.
    expect(wave(page, "canary")).to_have_attribute("data-state", "in-progress")
    expect(wave(page, "rest")).to_have_attribute("data-state", "waiting")
    expect(wave(page, "rest")).to_have_attribute("data-state", "in-progress", timeout=60_000)
    expect(wave(page, "canary")).to_have_attribute("data-state", "done")
    expect(wave(page, "canary")).to_contain_text("1/1 cluster updated and healthy")
    expect(wave(page, "rest")).to_have_attribute("data-state", "done", timeout=60_000)
    expect(wave(page, "rest")).to_contain_text("2/2 clusters updated and healthy")
    rollout = page.get_by_label("Rollout")
    expect(rollout).to_contain_text("Complete")
    expect(rollout).to_contain_text("3/3 deployed")
    rows = page.get_by_role("table", name=re.compile("Matching clusters")).get_by_role("row")
    expect(rows.filter(has_text="wave-b")).to_contain_text("Deployed")
    expect(rows.filter(has_text="wave-b")).to_contain_text("Ready")
    assert page.evaluate("window.notReloaded") is True

    status = mcs(orbit, "web")["status"]
    assert status["rollout"]["state"] == "Complete", json.dumps(status)[:2000]

    # The list, reached through the nav, says the same.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    row = page.get_by_role("row").filter(has_text="web")
    expect(row).to_contain_text("3/3 deployed")
    expect(row).to_contain_text("Complete")
    expect(row).to_contain_text("fleet=waves")
    assert page.evaluate("window.notReloaded") is True


def test_rollback_sets_the_stable_revisions_services_back(
    page: Page, orbit: Orbit, fleet: list[str]
) -> None:
    call(orbit, "POST", f"{P}/multiclusterservices", service("back", soak="0s"))
    wait_for(
        lambda: mcs(orbit, "back")["status"]["rollout"].get("state") == "Complete",
        timeout=90,
        what="revision 1 complete",
        on_fail=lambda: json.dumps(mcs(orbit, "back")["status"])[:2000],
    )
    page.goto(f"{orbit.url}/ui/services/{NS}/back")
    expect(page.get_by_label("Rollout")).to_contain_text("Complete")
    expect(page.get_by_role("button", name=re.compile("Roll back"))).to_have_count(0)

    # Revision 2, held before it starts: the page offers to go back to revision 1.
    call(orbit, "PATCH", f"{P}/multiclusterservices/back", {"spec": {"paused": True}})
    expect(page.get_by_role("button", name="Resume rollout")).to_be_visible()
    patched = service("back", replicas=2, paused=True)["spec"]["services"]
    call(orbit, "PATCH", f"{P}/multiclusterservices/back", {"spec": {"services": patched}})
    back = page.get_by_role("button", name="Roll back to revision 1")
    expect(back).to_be_visible()
    expect(page.get_by_label("Rollout")).to_contain_text("Held")

    back.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("services of revision 1")
    dialog.get_by_role("button", name="Roll back").click()
    expect(back).to_have_count(0)
    spec = mcs(orbit, "back")["spec"]
    assert spec["services"][0]["values"] == {"replicas": 1}, spec
    page.get_by_role("button", name="Resume rollout").click()
    wait_for(
        lambda: (
            mcs(orbit, "back")["status"]["rollout"].get("state") == "Complete"
            and mcs(orbit, "back")["status"]["rollout"]["revision"] == 3
        ),
        timeout=90,
        what="the rolled-back services out as revision 3",
        on_fail=lambda: json.dumps(mcs(orbit, "back")["status"])[:2000],
    )
    expect(page.get_by_label("Rollout")).to_contain_text("Complete")


def test_a_viewer_sees_the_rollout_but_no_action_even_on_a_phone(
    new_page: Callable[..., Page], orbit: Orbit, fleet: list[str]
) -> None:
    call(orbit, "POST", f"{P}/multiclusterservices", service("seen", soak="0s"))
    token = add_user(orbit, "vic", "namespace-viewer", NS)
    page = new_page(token, width=390, height=844)
    page.goto(f"{orbit.url}/ui/services/{NS}/seen")
    expect(page.get_by_role("heading", level=1)).to_have_text("seen")
    expect(wave(page, "all")).to_be_visible()
    expect(wave(page, "all")).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.get_by_role("button", name=re.compile("Hold|Resume|Roll back"))).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    # The server refuses what the page does not offer.
    status = page.evaluate(
        """fetch("/apis/orbit.k8or.io/v1alpha1/namespaces/default/multiclusterservices/seen", {
             method: "PATCH", body: JSON.stringify({spec: {paused: true}}),
             headers: {"Content-Type": "application/merge-patch+json", "X-Orbit-CSRF": "1"}})
           .then((r) => r.status)"""
    )
    assert status == 403


def test_wave_states_follow_the_controllers_rollout_status(page: Page) -> None:
    """services.js's reading of status.rollout for the states a live test cannot cheaply
    reach: a wave that failed and paused the rollout, or was rolled back."""
    states = page.evaluate(
        """async () => {
          const { wavesOf } = await import("/ui/static/js/pages/services.js");
          const mcs = (rollout, paused = false) => ({
            spec: {paused, rollout: {waves: [{name: "a", percent: 10}, {name: "b", percent: 100}]}},
            status: {rollout: {revision: 2, ...rollout}, clusters: [
              {name: "x", wave: "a", revision: 2, state: "Deployed"},
              {name: "y", wave: "b", revision: 1, state: "Deployed"},
              {name: "z", wave: "remaining", revision: 1, state: "Deployed"}]},
          });
          const of = (m) => wavesOf(m).map((w) => `${w.name}:${w.state}:${w.updated}`).join(" ");
          return [
            of(mcs({state: "Progressing", wave: "b"})),
            of(mcs({state: "Progressing", wave: "b"}, true)),
            of(mcs({state: "Paused", wave: "b", failedWave: "b"})),
            of(mcs({state: "RolledBack", wave: "a", failedWave: "a"})),
            of(mcs({state: "Complete", wave: null})),
            of(mcs({state: "Pending"})),
          ];
        }"""
    )
    assert states == [
        "a:done:1 b:in-progress:0 remaining:waiting:0",
        "a:done:1 b:held:0 remaining:waiting:0",
        "a:done:1 b:failed:0 remaining:waiting:0",
        "a:rolled-back:1 b:waiting:0 remaining:waiting:0",
        "a:done:1 b:done:0 remaining:done:0",
        "a:waiting:1 b:waiting:0 remaining:waiting:0",
    ]
