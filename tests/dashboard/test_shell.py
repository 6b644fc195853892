"""The dashboard's shell in Chromium: signing in and out, deep links, the nav by keyboard,
the phone layout, and no request ever leaving loopback (checked by the fixtures)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import Guard, add_user, login
from tests.e2e.conftest import Orbit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_sign_in_with_a_token(new_page: Callable[..., Page], orbit: Orbit) -> None:
    page = new_page()
    page.goto(f"{orbit.url}/")  # the root redirects to /ui/, which asks for a login
    expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2F$"))
    expect(page).to_have_title(re.compile("Sign in"))
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()

    page.get_by_label("API token").fill("orbit_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    expect(page).to_have_url(re.compile(r"/ui/login"))

    page.get_by_label("API token").fill(orbit.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{orbit.url}/ui/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.locator("#user")).to_have_text("admin")
    expect(page).to_have_title(re.compile("Overview"))
    # ... at the URL orbit up printed.
    assert f"dashboard: {orbit.url}/ui/" in (orbit.data_dir / "orbit.log").read_text()


def test_another_user_sees_their_name(new_page: Callable[..., Page], orbit: Orbit) -> None:
    token = add_user(orbit, "vera", "namespace-viewer", "default")
    page = new_page(token)
    expect(page.locator("#user")).to_have_text("vera")
    # Their only namespace is the one they are bound in; no "All namespaces".
    expect(page.get_by_label("Namespace")).to_have_value("default")
    expect(page.get_by_label("Namespace").locator("option")).to_have_count(1)


def test_deep_link_survives_the_login(new_page: Callable[..., Page], orbit: Orbit) -> None:
    page = new_page()
    login(page, orbit, orbit.token, path="/ui/clusters?phase=Ready")
    expect(page).to_have_url(f"{orbit.url}/ui/clusters?phase=Ready")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clusters")
    expect(page.get_by_label("Phase")).to_have_value("Ready")  # the filter came through
    # A reload of a deep link is the app again (the server answers index.html), still in.
    page.reload()
    expect(page).to_have_url(f"{orbit.url}/ui/clusters?phase=Ready")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clusters")


def test_unknown_page_and_back(page: Page, orbit: Orbit) -> None:
    page.goto(f"{orbit.url}/ui/no/such/page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    page.get_by_role("link", name="Go to the overview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_sign_out(page: Page, orbit: Orbit) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    assert not [c for c in page.context.cookies() if c["name"] == "orbit_token"]
    page.goto(f"{orbit.url}/ui/")  # the cookie is gone: back to the login page
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))


def test_keyboard_reaches_and_follows_the_nav(page: Page, orbit: Orbit) -> None:
    page.goto(f"{orbit.url}/ui/no/such/page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    overview = page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview")
    for _ in range(20):
        page.keyboard.press("Tab")
        if overview.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Overview link of the nav")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{orbit.url}/ui/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(overview).to_have_attribute("aria-current", "page")


def test_phone_width_collapses_the_nav(new_page: Callable[..., Page], orbit: Orbit) -> None:
    page = new_page(orbit.token, width=390, height=844)
    menu = page.get_by_role("button", name="Menu")
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav_link).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    nav_link.click()  # following a link closes the menu again
    expect(nav_link).to_be_hidden()
    # Nothing is wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


def test_desktop_has_no_menu_button(page: Page) -> None:
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview")
    ).to_be_visible()


def test_the_guard_blocks_and_records_off_loopback_requests(browser: Browser, orbit: Orbit) -> None:
    """The fixtures' own check works: a request off loopback is aborted and recorded."""
    guard = Guard()
    context = browser.new_context()
    try:
        context.route("**/*", guard.route)
        page = context.new_page()
        # A loopback page without OpsBoard's CSP (which would stop the fetch in the page).
        assert page.goto(f"{orbit.url}/healthz").status == 200  # type: ignore[union-attr]
        failed = page.evaluate(
            "fetch('http://example.com/x').then(() => 'answered', (e) => 'failed')"
        )
    finally:
        context.close()
    assert failed == "failed"
    assert guard.blocked == ["http://example.com/x"]


def test_the_pages_policy_forbids_other_origins(page: Page) -> None:
    """Defence in depth: OpsBoard's own pages may not even try another origin (CSP)."""
    answer = page.evaluate("fetch('http://example.com/x').then(() => 'answered', () => 'failed')")
    assert answer == "failed"


def test_overview_follows_the_fleet_without_reloading(page: Page, orbit: Orbit) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    page.evaluate("window.notReloaded = true")
    orbit.ok("create", "cluster", "live-1", "--template", "sim-single-1-0-0")
    row = page.get_by_role("row").filter(has_text="default/live-1")
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Ready", timeout=90_000)
    expect(page.locator(".stat[data-phase=Ready]")).to_contain_text("1")

    gone = httpx.delete(
        f"{orbit.url}/apis/orbit.k8or.io/v1alpha1/namespaces/default/clusterdeployments/live-1",
        headers={"Authorization": f"Bearer {orbit.token}"},
        timeout=10,
    )
    assert gone.status_code == 200, gone.text
    expect(row).to_have_count(0, timeout=90_000)
    assert page.evaluate("window.notReloaded") is True


def test_api_module_sends_csrf_and_reports_field_causes(page: Page) -> None:
    """api.js as the pages use it: a cookie-authenticated write passes the CSRF check, and a
    422 comes back as an ApiError with the server's field causes."""
    answer = page.evaluate(
        """async () => {
          const api = await import("/ui/static/js/api.js");
          const path = api.resourcePath("clusterdeployments", "default");
          const body = {apiVersion: api.GROUP_VERSION, kind: "ClusterDeployment",
                        metadata: {name: "dry"}, spec: {template: "Not_A_Name"}};
          try {
            await api.create(path, body, {dryRun: true});
            return "stored";
          } catch (e) {
            return {name: e.name, code: e.code, reason: e.reason, causes: e.causes};
          }
        }"""
    )
    assert answer["name"] == "ApiError"
    assert (answer["code"], answer["reason"]) == (422, "Invalid")
    fields = {cause["field"] for cause in answer["causes"]}
    assert {"spec.template", "spec.credential"} <= fields, answer
    # Without the header the same cookie may not write.
    status = page.evaluate(
        """fetch("/apis/orbit.k8or.io/v1alpha1/namespaces/default/clusterdeployments",
                 {method: "POST", body: "{}", headers: {"Content-Type": "application/json"}})
             .then((r) => r.status)"""
    )
    assert status == 403
