"""Browser fixtures: a real ``orbit up`` (one per test module) and Debian's Chromium driven by
Playwright's sync API, with every non-loopback request blocked and reported.

- ``orbit``: the server (tests/e2e/conftest.py's :class:`Orbit`), started once per module;
  tests share it, so give what you create unique names.
- ``browser``: Chromium at /usr/bin/chromium (never a downloaded one). Missing: the test is
  skipped, or fails when ORBIT_REQUIRE_SERVICES=1.
- ``new_page(token=None, width=1280, height=800)``: a fresh browser context (no cookies) and
  its page, signed in through the real login page when ``token`` is given. When the test
  ends, it fails if the page tried to reach anything but loopback or threw an uncaught
  JavaScript error.
- ``page``: ``new_page(orbit.token)``, the first admin, at 1280x800.
- ``login(page, orbit, token, path="/ui/")``: sign in on the login page, as a person would.
- ``add_user(orbit, name, role, namespace=None)``: a User, its (Cluster)RoleBinding and an
  API token for it (returned).

Test modules mark themselves ``pytestmark = [pytest.mark.slow, pytest.mark.browser]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import services_required
from tests.e2e.conftest import Orbit, new_orbit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

CHROMIUM = Path(os.environ.get("ORBIT_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
GROUP_VERSION = "orbit.k8or.io/v1alpha1"
TIMEOUT_MS = 20_000  # generous: two shared cores, a server and a browser


def _missing(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason}, and ORBIT_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{reason}; install it (apt-get install chromium) or set ORBIT_REQUIRE_SERVICES=1")


# Module-scoped, not session-scoped: the sync API keeps an asyncio loop running on this thread
# while it is open, and pytest-asyncio cannot run the async tests of a later module
# (test_routes.py) under it. Closing it at the end of each browser module costs a second.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _missing(f"Chromium is not at {CHROMIUM}")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def orbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orbit]:
    """One ``orbit up`` for the module (its own client config: never the user's)."""
    base = tmp_path_factory.mktemp("dashboard")
    server = new_orbit(base / "orbit", ORBIT_CONFIG=str(base / "client-config"))
    for name in ("ORBIT_TOKEN", "ORBIT_CONTEXT"):
        server.env.pop(name, None)
    server.start()
    yield server
    server.stop()


@dataclass
class Guard:
    """What a browser context tried that it must not: requests off loopback, script errors."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


def login(page: Page, orbit: Orbit, token: str, path: str = "/ui/") -> None:
    """Sign in through the login page (``path`` first sends the browser there), then wait
    for the signed-in shell."""
    from playwright.sync_api import expect

    page.goto(f"{orbit.url}{path}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def new_page(browser: Browser, orbit: Orbit) -> Iterator[Callable[..., Page]]:
    made: list[tuple[BrowserContext, Guard]] = []

    def make(token: str | None = None, *, width: int = 1280, height: int = 800) -> Page:
        guard = Guard()
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", guard.route)
        made.append((context, guard))
        page = context.new_page()
        page.on("pageerror", lambda exc: guard.errors.append(str(exc)))
        if token is not None:
            login(page, orbit, token)
        return page

    yield make
    for context, _ in made:
        context.close()
    blocked = [url for _, guard in made for url in guard.blocked]
    errors = [err for _, guard in made for err in guard.errors]
    assert not blocked, f"the dashboard tried to reach beyond loopback: {blocked}"
    assert not errors, f"uncaught JavaScript errors: {errors}\n{orbit.log_tail(20)}"


@pytest.fixture
def page(new_page: Callable[..., Page], orbit: Orbit) -> Page:
    """The first admin, signed in, at 1280x800."""
    return new_page(orbit.token)


def add_user(orbit: Orbit, name: str, role: str, namespace: str | None = None) -> str:
    """Create User ``name`` bound to ``role`` (in ``namespace``, or globally for the global
    roles) and return a new API token for them."""
    api = f"{orbit.url}/apis/{GROUP_VERSION}"
    headers = {"Authorization": f"Bearer {orbit.token}"}
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    binding: dict[str, Any] = {
        "apiVersion": GROUP_VERSION,
        "kind": kind,
        "metadata": {"name": f"{name}-{role}"},
        "spec": {"role": role, "subjects": [{"kind": "User", "name": name}]},
    }
    user = {"apiVersion": GROUP_VERSION, "kind": "User", "metadata": {"name": name}}
    bindings = (
        f"{api}/namespaces/{namespace}/rolebindings" if namespace else f"{api}/clusterrolebindings"
    )
    with httpx.Client(headers=headers, timeout=10) as http:
        created = http.post(f"{api}/users", json=user)
        assert created.status_code in (201, 409), created.text
        bound = http.post(bindings, json=binding)
        assert bound.status_code in (201, 409), bound.text
        issued = http.post(
            f"{orbit.url}/auth/v1/tokens", json={"user": name, "description": "dashboard test"}
        )
        assert issued.status_code == 201, issued.text
        return str(issued.json()["token"])
