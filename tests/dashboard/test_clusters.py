"""The cluster pages in Chromium: create a cluster from the form (the API's validation message
first), watch it turn Ready without a reload, scale it, delete it; what a viewer sees and may
not do; the overview following the fleet; and the screenshots in docs/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Frame, Page, expect

from tests.dashboard.conftest import GROUP_VERSION, add_user
from tests.e2e.conftest import Orbit, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
READY_TIMEOUT = 90_000


def screenshot(page: Page, name: str) -> None:
    """Save the viewport as docs/screenshots/NAME.png when ORBIT_UPDATE_SCREENSHOTS=1 or the
    file is missing (so ordinary runs leave the tree alone)."""
    target = SCREENSHOTS / f"{name}.png"
    if os.environ.get("ORBIT_UPDATE_SCREENSHOTS") == "1" or not target.exists():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # The top of the page, without passing toasts.
        page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(target))


class Api:
    """The REST API as a test drives it beside the browser (admin unless a token is given)."""

    def __init__(self, orbit: Orbit, token: str | None = None) -> None:
        self.http = httpx.Client(
            base_url=f"{orbit.url}/apis/{GROUP_VERSION}",
            headers={"Authorization": f"Bearer {token or orbit.token}"},
            timeout=10,
        )

    def path(self, plural: str, namespace: str | None = None, name: str = "") -> str:
        base = f"/namespaces/{namespace}/{plural}" if namespace else f"/{plural}"
        return f"{base}/{name}" if name else base

    def create(self, plural: str, body: dict[str, Any], namespace: str | None = None) -> Any:
        answer = self.http.post(self.path(plural, namespace), json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def get(self, plural: str, namespace: str, name: str) -> httpx.Response:
        return self.http.get(self.path(plural, namespace, name))

    def patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]) -> Any:
        answer = self.http.patch(
            self.path(plural, namespace, name),
            json=body,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def delete(self, plural: str, namespace: str, name: str) -> None:
        answer = self.http.delete(self.path(plural, namespace, name))
        assert answer.status_code in (200, 404), answer.text

    def cluster(
        self,
        name: str,
        namespace: str = "default",
        *,
        template: str = "sim-single-1-0-0",
        credential: str = "sim",
        **spec: Any,
    ) -> Any:
        labels = spec.pop("labels", {})
        body = {
            "metadata": {"name": name, "labels": labels},
            "spec": {"template": template, "credential": credential, **spec},
        }
        return self.create("clusterdeployments", body, namespace)


@pytest.fixture
def api(orbit: Orbit) -> Iterator[Api]:
    client = Api(orbit)
    yield client
    client.http.close()


def track_navigations(page: Page) -> list[str]:
    """The URLs the main frame navigates to from now on (a reload would be one)."""
    seen: list[str] = []

    def record(frame: Frame) -> None:
        if frame == page.main_frame:
            seen.append(frame.url)

    page.on("framenavigated", record)
    return seen


def field_error(page: Page, field: str) -> Any:
    """The message formErrors() put right after the control for ``field``."""
    return page.locator(f'[data-field="{field}"] + .field-error')


def test_create_from_the_form_watch_it_come_up_scale_and_delete(
    page: Page, orbit: Orbit, api: Api
) -> None:
    page.goto(f"{orbit.url}/ui/clusters")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clusters")
    page.get_by_role("link", name="Create cluster").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create a cluster")

    page.get_by_label("Cluster template").select_option("default/sim-single-1-0-0")
    workers = page.get_by_label("workers", exact=True)
    expect(workers).to_have_value("0")  # the schema's default
    expect(page.get_by_label("machineSize", exact=True)).to_have_value('"small"')
    page.get_by_label("Name", exact=True).fill("ui-demo")
    page.get_by_label("TTL", exact=True).fill("3h")
    page.get_by_label("Labels", exact=True).fill("env=dev, team=ui")
    workers.fill("25")

    # The API's own message, next to the field, before anything is created.
    error = field_error(page, "spec.config.workers")
    expect(error).to_have_text("25 is greater than the maximum of 20")
    body = {
        "metadata": {"name": "ui-demo"},
        "spec": {"template": "sim-single-1-0-0", "credential": "sim", "config": {"workers": 25}},
    }
    dry = api.http.post(api.path("clusterdeployments", "default") + "?dryRun=All", json=body)
    assert dry.status_code == 422
    assert [c["message"] for c in dry.json()["details"]["causes"]] == [error.text_content()]
    expect(workers).to_have_attribute("aria-invalid", "true")
    screenshot(page, "create")

    # Submitting anyway is refused the same way, and nothing exists.
    page.get_by_role("button", name="Create cluster").click()
    expect(page.get_by_role("status").filter(has_text="Not created")).to_be_visible()
    expect(error).to_have_text("25 is greater than the maximum of 20")
    expect(page).to_have_url(re.compile(r"/ui/clusters/new\?namespace=default&template=sim-single"))
    assert api.get("clusterdeployments", "default", "ui-demo").status_code == 404

    workers.fill("1")
    expect(error).to_have_count(0)
    expect(page.get_by_text("The API accepts this cluster.")).to_be_visible()
    page.get_by_role("button", name="Create cluster").click()

    # The cluster's page follows it up: no reload, no navigation.
    expect(page).to_have_url(f"{orbit.url}/ui/clusters/default/ui-demo")
    expect(page.get_by_role("heading", level=1)).to_have_text("ui-demo")
    page.evaluate("window.notReloaded = true")
    navigations = track_navigations(page)
    expect(page.locator("#phase")).to_have_text("Ready", timeout=READY_TIMEOUT)
    nodes = page.get_by_role("table", name="Nodes").locator("tbody tr")
    expect(nodes).to_have_count(2)
    stored = api.get("clusterdeployments", "default", "ui-demo").json()
    assert stored["spec"]["config"] == {"workers": 1, "machineSize": "small"}
    assert stored["spec"]["ttl"] == "3h"
    assert stored["metadata"]["labels"] == {"env": "dev", "team": "ui"}
    conditions = page.get_by_role("table", name="Conditions")
    expect(conditions.get_by_role("row").filter(has_text="WorkersReady")).to_contain_text(
        "Succeeded"
    )
    expect(page.get_by_role("list", name="Events, newest first")).to_contain_text("Provisioning")
    expect(page.locator("#upgrades-title + *")).to_contain_text("sim-single-1-1-0")

    # Scale to 2 workers: the dialog checks with the API as you type, the nodes appear.
    page.get_by_role("button", name="Scale").click()
    dialog = page.get_by_role("dialog")
    size = dialog.get_by_label("Worker nodes")
    expect(size).to_be_focused()
    expect(size).to_have_value("1")
    size.fill("21")
    expect(field_error(page, "spec.config.workers")).to_have_text(
        "21 is greater than the maximum of 20"
    )
    size.fill("2")
    expect(field_error(page, "spec.config.workers")).to_have_count(0)
    dialog.get_by_role("button", name="Scale").click()
    expect(dialog).to_have_count(0)
    expect(nodes).to_have_count(3, timeout=READY_TIMEOUT)
    expect(nodes.filter(has_text="ui-demo-worker-1")).to_contain_text("Ready")
    expect(page.locator("#phase")).to_have_text("Ready", timeout=READY_TIMEOUT)
    config = api.get("clusterdeployments", "default", "ui-demo").json()["spec"]["config"]
    assert config["workers"] == 2
    screenshot(page, "cluster")

    # Extend its lifetime: ttl 3h becomes 4h.
    page.get_by_role("button", name="Extend TTL").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Extend by").fill("soon")
    expect(field_error(page, "spec.ttl")).to_contain_text("'soon' is not a duration")
    dialog.get_by_label("Extend by").fill("1h")
    dialog.get_by_role("button", name="Extend").click()
    expect(dialog).to_have_count(0)
    wait_for(
        lambda: api.get("clusterdeployments", "default", "ui-demo").json()["spec"]["ttl"] == "4h",
        timeout=10,
        what="ttl 4h",
    )
    expect(page.locator(".facts")).to_contain_text("ttl 4h")

    # Delete: a confirmation first (Escape backs out), then it goes.
    page.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text("cannot be undone")
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    assert api.get("clusterdeployments", "default", "ui-demo").status_code == 200
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete cluster").click()
    expect(page.get_by_role("alert").filter(has_text="no longer exists")).to_be_visible(
        timeout=READY_TIMEOUT
    )
    assert api.get("clusterdeployments", "default", "ui-demo").status_code == 404
    expect(page.get_by_role("button", name="Scale")).to_be_hidden()

    assert page.evaluate("window.notReloaded") is True
    assert navigations == [], navigations


def test_viewer_sees_clusters_but_no_actions(
    new_page: Callable[..., Page], orbit: Orbit, api: Api
) -> None:
    api.cluster("viewed", ttl="2h")
    token = add_user(orbit, "vic", "namespace-viewer", "default")
    page = new_page(token)

    page.goto(f"{orbit.url}/ui/clusters")
    link = page.get_by_role("link", name="viewed", exact=True)
    expect(link).to_be_visible()
    expect(page.get_by_role("link", name="Create cluster")).to_have_count(0)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("viewed")
    expect(page.locator("#phase")).to_have_text("Ready", timeout=READY_TIMEOUT)
    for action in ("Scale", "Upgrade", "Extend TTL", "Set TTL", "Delete"):
        expect(page.get_by_role("button", name=action, exact=True)).to_have_count(0)
    # Reading a kubeconfig is a viewer's right (kubeconfig:get): offered, and it carries
    # their own identity through the AccessPoint.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download kubeconfig").click()
    assert download.value.suggested_filename == "default-viewed.kubeconfig.yaml"
    kubeconfig = Path(download.value.path()).read_text()
    assert "/clusters/default/viewed/proxy" in kubeconfig
    assert "vic" in kubeconfig

    page.goto(f"{orbit.url}/ui/clusters/new")
    expect(page.get_by_role("alert")).to_contain_text("do not allow creating clusters")
    expect(page.get_by_role("button", name="Create cluster")).to_have_count(0)

    # The server enforces it whatever the page offers.
    refused = httpx.post(
        f"{orbit.url}/apis/{GROUP_VERSION}/namespaces/default/clusterdeployments",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "metadata": {"name": "sneaky"},
            "spec": {"template": "sim-single-1-0-0", "credential": "sim"},
        },
        timeout=10,
    )
    assert refused.status_code == 403, refused.text
    assert "clusterdeployments:create" in refused.json()["message"]
    assert api.get("clusterdeployments", "default", "sneaky").status_code == 404
    api.delete("clusterdeployments", "default", "viewed")


def test_a_refused_action_shows_the_servers_answer(
    new_page: Callable[..., Page], orbit: Orbit, api: Api
) -> None:
    """The page offered Scale (the rules allowed it then); the server refuses it now."""
    api.cluster("refusing")
    token = add_user(orbit, "eddie", "namespace-editor", "default")
    page = new_page(token)
    page.goto(f"{orbit.url}/ui/clusters/default/refusing")
    expect(page.locator("#phase")).to_have_text("Ready", timeout=READY_TIMEOUT)
    api.delete("rolebindings", "default", "eddie-namespace-editor")

    page.get_by_role("button", name="Scale").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Worker nodes").fill("1")
    dialog.get_by_role("button", name="Scale").click()
    expect(dialog.get_by_role("alert")).to_contain_text("may not patch clusterdeployments")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert api.get("clusterdeployments", "default", "refusing").json()["spec"]["config"] == {}
    api.delete("clusterdeployments", "default", "refusing")


def test_clusters_list_filters_live_in_the_url(page: Page, orbit: Orbit, api: Api) -> None:
    api.cluster("filter-a", labels={"tier": "gold"})
    api.cluster("filter-b", labels={"tier": "bronze"})
    page.goto(f"{orbit.url}/ui/clusters?label=tier%3Dgold")
    table = page.get_by_role("table", name="Clusters, most urgent first")
    expect(table.get_by_role("link", name="filter-a")).to_be_visible()
    expect(table.get_by_role("link", name="filter-b")).to_have_count(0)

    page.get_by_label("Label selector").fill("tier in (gold,bronze)")
    expect(table.get_by_role("link", name="filter-b")).to_be_visible()
    expect(page).to_have_url(f"{orbit.url}/ui/clusters?label=tier+in+%28gold%2Cbronze%29")
    page.get_by_label("Search").fill("-b")
    expect(table.get_by_role("link", name="filter-a")).to_have_count(0)
    expect(page).to_have_url(re_url(orbit, "q=-b"))
    page.get_by_label("Label selector").fill("tier in (")
    expect(page.locator("#label-error")).to_be_visible()

    # Live: a new matching cluster appears without a reload.
    page.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(f"{orbit.url}/ui/clusters")
    page.get_by_label("Phase").select_option("Ready")
    page.evaluate("window.notReloaded = true")
    api.cluster("filter-c")
    expect(table.get_by_role("link", name="filter-c")).to_be_visible(timeout=READY_TIMEOUT)
    page.get_by_label("Provider").select_option("sim")
    expect(page).to_have_url(re_url(orbit, "phase=Ready&provider=sim"))
    assert page.evaluate("window.notReloaded") is True
    for name in ("filter-a", "filter-b", "filter-c"):
        api.delete("clusterdeployments", "default", name)


def re_url(orbit: Orbit, query: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{orbit.url}/ui/clusters?") + ".*" + re.escape(query))


def test_overview_follows_the_fleet(page: Page, orbit: Orbit, api: Api) -> None:
    """In a namespace of its own: phases, providers, expiry, failing services, a rollout and
    events appear as the fleet changes, without a reload."""
    ns = "ops"
    api.create("namespaces", {"metadata": {"name": ns}})
    api.create(
        "accessrules",
        {
            "metadata": {"name": "ops-catalog"},
            "spec": {
                "targetNamespaces": {"list": [ns]},
                "clusterTemplates": ["sim-*"],
                "credentials": ["sim"],
            },
        },
    )
    api.create(
        "credentials",
        {"metadata": {"name": "tiny"}, "spec": {"provider": "sim", "config": {"nodeQuota": 1}}},
        ns,
    )
    for name, manifest in (
        ("broken-1-0-0", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"),
        ("motd-1-0-0", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: motd}\n"),
    ):
        api.create(
            "servicetemplates",
            {"metadata": {"name": name}, "spec": {"version": "1.0.0", "resources": manifest}},
            ns,
        )

    page.reload()  # the namespace selector lists the namespaces there were at sign-in
    page.get_by_label("Namespace").select_option(ns)
    expect(page.get_by_role("heading", name=f"Clusters in {ns}")).to_be_visible()
    expect(page.get_by_text(f"No clusters in {ns} yet.")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    api.cluster(
        "web",
        ns,
        ttl="3h",
        labels={"env": "prod"},
        services=[{"name": "widget", "template": "broken-1-0-0"}],
    )
    api.cluster("edge", ns, ttl="20h", labels={"env": "prod"})
    api.cluster("quota", ns, credential="tiny", config={"workers": 2})
    api.cluster("batch", ns, config={"workers": 20})
    expect(page.locator(".stat[data-phase=Ready]")).to_contain_text("3", timeout=READY_TIMEOUT)
    expect(page.locator(".stat[data-phase=Failed]")).to_contain_text("1", timeout=READY_TIMEOUT)
    expect(page.locator(".stat[data-provider=sim]")).to_contain_text("4")

    expiring = page.locator("#expiring-title + *")
    expect(expiring.get_by_role("row")).to_have_count(3)  # header, web (3h), edge (20h)
    expect(expiring.get_by_role("row").nth(1)).to_contain_text("web")
    failing = page.locator("#failing-title + *")
    expect(failing.locator(".group[data-reason=NotFound]")).to_contain_text(
        "widget", timeout=READY_TIMEOUT
    )
    expect(failing.locator(".group[data-reason=NotFound]")).to_contain_text("1 failing")

    api.create(
        "multiclusterservices",
        {
            "metadata": {"name": "motd"},
            "spec": {
                "clusterSelector": {"matchLabels": {"env": "prod"}},
                "services": [{"name": "motd", "template": "motd-1-0-0"}],
                "rollout": {
                    "soakTime": "1h",
                    "waves": [{"name": "canary", "percent": 50}, {"name": "rest", "percent": 100}],
                },
            },
        },
        ns,
    )
    rollout = page.locator("#rollouts-title + * .group[data-name=motd]")
    expect(rollout).to_contain_text("Progressing", timeout=READY_TIMEOUT)
    expect(rollout).to_contain_text("Wave canary (1 of 2)")
    events = page.get_by_role("list", name="Events, newest first")
    expect(events).to_contain_text("RolloutStarted")  # the newest few, whatever their kind

    # A cluster upgrading, a node at a time.
    api.patch("clusterdeployments", ns, "batch", {"spec": {"template": "sim-single-1-1-0"}})
    expect(page.locator(".stat[data-phase=Updating]")).to_contain_text("1")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "overview")

    page.locator(".stat[data-phase=Failed] a").click()
    expect(page).to_have_url(f"{orbit.url}/ui/clusters?phase=Failed")
    table = page.get_by_role("table", name="Clusters, most urgent first")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("quota")

    page.get_by_label("Namespace").select_option("default")
    for name in ("web", "edge", "quota", "batch"):
        api.delete("clusterdeployments", ns, name)
    api.delete("multiclusterservices", ns, "motd")


def test_cluster_pages_by_keyboard_and_at_phone_width(
    new_page: Callable[..., Page], orbit: Orbit, api: Api
) -> None:
    api.cluster("pocket", ttl="1h")
    page = new_page(orbit.token, width=390, height=844)
    for path, heading in (
        ("/ui/", "Overview"),
        ("/ui/clusters", "Clusters"),
        ("/ui/clusters/new", "Create a cluster"),
        ("/ui/clusters/default/pocket", "pocket"),
    ):
        page.goto(f"{orbit.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    expect(page.locator("#phase")).to_have_text("Ready", timeout=READY_TIMEOUT)

    # Tab reaches the actions; Enter opens a dialog with the focus inside; Escape closes it
    # and gives the focus back.
    scale = page.get_by_role("button", name="Scale")
    for _ in range(40):
        page.keyboard.press("Tab")
        if scale.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Scale button")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Scale pocket")
    expect(dialog.get_by_label("Worker nodes")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(scale).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Extend TTL")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog").get_by_label("Extend by")).to_be_focused()
    page.keyboard.press("Escape")
    api.delete("clusterdeployments", "default", "pocket")
