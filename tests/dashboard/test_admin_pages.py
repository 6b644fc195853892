"""The catalog and admin pages in Chromium: templates with their parameters and upgrade paths,
credentials that show secret names and never a value, the audit log with filters and the chain
check, users and role bindings for admins, and what a namespace-viewer is not offered."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import add_user
from tests.e2e.conftest import Orbit

pytestmark = [pytest.mark.slow, pytest.mark.browser]

API = "/apis/orbit.k8or.io/v1alpha1"
P = f"{API}/namespaces/default"
PLANTED = "planted-s3cr3t-value-7f1c"
TYPED = "typed-in-the-form-9d2e"


def call(orbit: Orbit, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    answer = httpx.request(
        method,
        f"{orbit.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token or orbit.token}"},
        timeout=10,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def assert_not_shown(page: Page, *secrets: str) -> None:
    """Neither the page's text, nor its HTML, nor any field's value holds a secret."""
    html = page.content()
    text = page.evaluate("document.body.innerText")
    values = page.evaluate("[...document.querySelectorAll('input, textarea')].map(e => e.value)")
    for secret in secrets:
        assert secret not in html
        assert secret not in text
        assert not [v for v in values if secret in v]


def main_nav(page: Page) -> Any:
    return page.get_by_role("navigation", name="Main")


def test_templates_catalog_versions_parameters_and_upgrade_paths(page: Page, orbit: Orbit) -> None:
    main_nav(page).get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Templates")
    clusters = page.get_by_role("table", name="Cluster templates")
    row = clusters.get_by_role("row").filter(has_text="sim-single-1-0-0")
    for text in ("1.0.0", "sim", "v1.30.6+k3s1", "One K3s server", "sim-single-1-1-0"):
        expect(row).to_contain_text(text)

    # Search narrows both tables, and the query is kept in the URL.
    page.get_by_label("Search").fill("ha")
    expect(clusters.get_by_role("row").filter(has_text="sim-single-1-0-0")).to_have_count(0)
    expect(clusters.get_by_role("row").filter(has_text="sim-ha-1-0-0")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?q=ha$"))
    page.get_by_label("Search").fill("")

    row.get_by_role("link", name="sim-single-1-0-0").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("sim-single-1-0-0")
    params = page.get_by_role("table", name=re.compile("Parameters"))
    workers = params.get_by_role("row").filter(has_text="workers")
    for text in ("integer", "0", "0 to 20", "Worker nodes"):
        expect(workers).to_contain_text(text)
    size = params.get_by_role("row").filter(has_text="machineSize")
    expect(size).to_contain_text("one of: small, medium, large")
    expect(size).to_contain_text("small")
    expect(page.get_by_text("No other parameters are accepted.")).to_be_visible()

    # The upgrade path is a link, and the target knows where it comes from.
    paths = page.get_by_label("Upgrade paths")
    paths.get_by_role("link", name="sim-single-1-1-0").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("sim-single-1-1-0")
    paths = page.get_by_label("Upgrade paths")
    expect(paths.get_by_role("link", name="sim-single-1-0-0")).to_be_visible()
    expect(paths).to_contain_text("none")


def test_credentials_show_secret_names_and_never_a_value(page: Page, orbit: Orbit) -> None:
    call(
        orbit,
        "POST",
        f"{P}/credentials",
        {
            "metadata": {"name": "planted"},
            "spec": {
                "provider": "sim",
                "description": "holds a planted secret",
                "config": {"region": "eu-1"},
                "secretData": {"apiToken": PLANTED},
            },
        },
    )
    call(
        orbit,
        "POST",
        f"{P}/clusterdeployments",
        {
            "metadata": {"name": "uses-planted"},
            "spec": {"template": "sim-single-1-0-0", "credential": "planted"},
        },
    )
    main_nav(page).get_by_role("link", name="Credentials").click()
    row = page.get_by_role("row").filter(has_text="planted")
    expect(row).to_contain_text("apiToken")
    expect(row).to_contain_text("holds a planted secret")
    assert_not_shown(page, PLANTED)

    row.get_by_role("link", name="planted").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("planted")
    expect(page.get_by_label("Secret keys")).to_have_text("apiToken")
    expect(page.get_by_role("table", name="spec.config")).to_contain_text("eu-1")
    users = page.get_by_role("table", name="Clusters that name this credential")
    expect(users.get_by_role("link", name="uses-planted")).to_be_visible()
    assert_not_shown(page, PLANTED)

    # Editing shows empty password fields, never the value held.
    page.get_by_role("link", name="Edit").click()
    held = page.get_by_label("New value for apiToken", exact=True)
    expect(held).to_have_attribute("type", "password")
    expect(held).to_have_value("")
    assert_not_shown(page, PLANTED)


def test_create_a_credential_with_a_write_only_secret(page: Page, orbit: Orbit) -> None:
    page.goto(f"{orbit.url}/ui/credentials")
    page.get_by_role("link", name="New credential").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New credential")
    form = page.get_by_role("form", name="New credential")
    form.get_by_label("Namespace").select_option("default")
    form.get_by_label("Name", exact=True).fill("Not A Name")
    form.get_by_label("Provider").fill("sim")
    form.get_by_role("button", name="Add setting").click()
    form.get_by_label("Setting name").fill("region")
    form.get_by_label("Setting value").fill("eu-2")
    form.get_by_label("Secret name").fill("token")
    secret = form.get_by_label("Secret value", exact=True)
    expect(secret).to_have_attribute("type", "password")
    secret.fill(TYPED)
    form.get_by_role("button", name="Create credential").click()
    # The API's own message, next to the field.
    expect(form.locator(".field-error")).to_contain_text("not a valid name")
    form.get_by_label("Name", exact=True).fill("ui-made")
    form.get_by_role("button", name="Create credential").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("ui-made")
    expect(page.get_by_label("Secret keys")).to_have_text("token")
    assert_not_shown(page, TYPED)
    stored = call(orbit, "GET", f"{P}/credentials/ui-made")
    assert stored["spec"]["secretKeys"] == ["token"]
    assert stored["spec"]["config"] == {"region": "eu-2"}
    assert "secretData" not in stored["spec"] or stored["spec"]["secretData"] is None


def test_audit_lists_filters_and_verifies(page: Page, orbit: Orbit) -> None:
    token = add_user(orbit, "audra", "namespace-admin", "default")
    call(
        orbit,
        "POST",
        f"{P}/credentials",
        {"metadata": {"name": "audited"}, "spec": {"provider": "sim"}},
        token=token,
    )
    main_nav(page).get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    records = page.get_by_role("table", name=re.compile("Audit records"))
    expect(records.get_by_role("row").filter(has_text="default/audited")).to_contain_text("audra")

    filters = page.get_by_role("search", name="Filter audit records")
    filters.get_by_label("Actor").fill("audra")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"actor=audra"))
    rows = records.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("credentials")
    expect(rows.first).to_contain_text("success")
    filters.get_by_label("Outcome").select_option("denied")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No audit records match.")).to_be_visible()

    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator(".verify-result")).to_contain_text("Chain intact")


def test_audit_pages_back_and_forth(page: Page, orbit: Orbit) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {orbit.token}"}, timeout=10) as http:
        for i in range(60):
            made = http.post(f"{orbit.url}{API}/users", json={"metadata": {"name": f"pager-{i}"}})
            assert made.status_code == 201, made.text
    newest = call(orbit, "GET", "/audit/v1/records?limit=1")["items"][0]["seq"]
    page.goto(f"{orbit.url}/ui/audit")
    rows = page.get_by_role("table", name=re.compile("Audit records")).locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text(str(newest))
    pager = page.get_by_role("navigation", name="Audit pages")
    expect(pager.get_by_role("button", name="Newer")).to_be_disabled()

    pager.get_by_role("button", name="Older").click()
    expect(page).to_have_url(re.compile(f"beforeSeq={newest - 49}"))
    expect(rows.first.locator("td").first).to_have_text(str(newest - 50))
    pager.get_by_role("button", name="Newer").click()
    expect(page).to_have_url(re.compile(f"afterSeq={newest - 50}"))
    expect(rows.first.locator("td").first).to_have_text(str(newest))
    expect(rows.last.locator("td").first).to_have_text(str(newest - 49))
    expect(pager.get_by_role("button", name="Newer")).to_be_disabled()  # nothing newer
    expect(pager.get_by_role("button", name="Older")).to_be_enabled()


def test_admin_creates_a_role_binding_the_api_shows(page: Page, orbit: Orbit) -> None:
    add_user(orbit, "rita", "namespace-viewer", "default")
    main_nav(page).get_by_role("link", name="Users & roles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users and roles")
    users = page.get_by_role("table", name="Users", exact=True)
    rita = users.get_by_role("row").filter(has_text="rita")
    expect(rita).to_contain_text("namespace-viewer in default")

    page.get_by_role("button", name="New role binding").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Namespace").select_option("default")
    dialog.get_by_label("Binding name").fill("ui-editors")
    dialog.get_by_label("Role").select_option("namespace-editor")
    dialog.get_by_label("Subject kind").select_option("Group")
    dialog.get_by_label("Subject name").fill("team-ui")
    dialog.get_by_role("button", name="Create binding").click()
    expect(dialog).to_have_count(0)
    bindings = page.get_by_role("table", name=re.compile("RoleBindings"))
    row = bindings.get_by_role("row").filter(has_text="ui-editors")
    expect(row).to_contain_text("group:team-ui")
    stored = call(orbit, "GET", f"{P}/rolebindings/ui-editors")
    assert stored["spec"] == {
        "role": "namespace-editor",
        "subjects": [{"kind": "Group", "name": "team-ui"}],
    }

    # Delete it again, after a confirmation.
    row.get_by_role("button", name=re.compile("Delete")).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    gone = httpx.get(
        f"{orbit.url}{P}/rolebindings/ui-editors",
        headers={"Authorization": f"Bearer {orbit.token}"},
        timeout=10,
    )
    assert gone.status_code == 404


def test_admin_issues_a_token_shown_once_and_disables_a_user(page: Page, orbit: Orbit) -> None:
    add_user(orbit, "tom", "namespace-viewer", "default")
    page.goto(f"{orbit.url}/ui/users")
    users = page.get_by_role("table", name="Users", exact=True)
    row = users.get_by_role("row").filter(has_text="tom")
    row.get_by_role("button", name="Issue token for tom").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Issue token").click()
    expect(dialog).to_contain_text("Shown once")
    token = dialog.get_by_label("Token for tom").input_value()
    assert token.startswith("orbit_")
    assert call(orbit, "GET", "/auth/v1/whoami", token=token)["user"] == "tom"
    dialog.get_by_role("button", name="Copy").click()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert token not in page.content()  # gone with the dialog

    row.get_by_role("button", name="Disable tom").click()
    page.get_by_role("dialog").get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("Disabled")
    assert call(orbit, "GET", f"{API}/users/tom")["spec"]["disabled"] is True
    refused = httpx.get(
        f"{orbit.url}/auth/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert refused.status_code == 401
    row.get_by_role("button", name="Enable tom").click()
    expect(row).to_contain_text("Active")
    assert call(orbit, "GET", f"{API}/users/tom")["spec"]["disabled"] is False


def test_a_namespace_viewer_sees_neither_users_nor_audit(
    new_page: Callable[..., Page], orbit: Orbit
) -> None:
    token = add_user(orbit, "nina", "namespace-viewer", "default")
    page = new_page(token)
    nav = main_nav(page)
    for allowed in ("Templates", "Services", "Credentials"):
        expect(nav.get_by_role("link", name=allowed)).to_be_visible()
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    expect(nav.get_by_role("link", name="Users & roles")).to_have_count(0)
    # A typed URL says why, and the server refuses anyway.
    page.goto(f"{orbit.url}/ui/audit")
    expect(page.get_by_role("alert")).to_contain_text("Not allowed")
    page.goto(f"{orbit.url}/ui/users")
    expect(page.get_by_role("alert")).to_contain_text("Not allowed")
    status = page.evaluate("""fetch("/audit/v1/records").then((r) => r.status)""")
    assert status == 403
    page.goto(f"{orbit.url}/ui/credentials")
    expect(page.get_by_role("heading", level=1)).to_have_text("Credentials")
    expect(page.get_by_role("link", name="New credential")).to_have_count(0)


def test_a_namespace_admin_manages_the_bindings_of_their_namespace(
    new_page: Callable[..., Page], orbit: Orbit
) -> None:
    token = add_user(orbit, "nadia", "namespace-admin", "default")
    page = new_page(token)
    main_nav(page).get_by_role("link", name="Users & roles").click()
    expect(page.get_by_role("heading", level=2, name="Role bindings in default")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Users", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="New role binding")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Audit")).to_have_count(0)


@pytest.mark.parametrize("path", ["/ui/templates", "/ui/credentials", "/ui/audit", "/ui/users"])
def test_pages_fit_a_phone(new_page: Callable[..., Page], orbit: Orbit, path: str) -> None:
    page = new_page(orbit.token, width=390, height=844)
    page.goto(f"{orbit.url}{path}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main table, main .empty").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
