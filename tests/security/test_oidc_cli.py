"""``orbit login --oidc`` end to end: the CLI's loopback listener, a browser, Orbit and the IdP.

Orbit is served by uvicorn on a real loopback port (in the test's event loop, where the store
lives); the CLI runs in a worker thread, as it would in a shell. ``webbrowser.open`` is replaced
by a "browser": a thread with an httpx client that keeps cookies, signs in at the test IdP's
form and follows every redirect, ending at the CLI's listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from orbit.cli import app as cli_app
from orbit.cli import oidc_login
from orbit.cli.context import CliError
from orbit.client import OrbitClient
from orbit.client import config as client_config
from orbit.config import OidcSettings
from orbit.security.oidc import OidcClient
from orbit.server import create_app
from orbit.store import SqlStore

from .oidc_provider import TestProvider

USERS = {"sub-alice": {"preferred_username": "alice", "groups": ["platform-leads"]}}


@pytest.fixture
def idp() -> Iterator[TestProvider]:
    with TestProvider(USERS) as provider:
        yield provider


@contextlib.asynccontextmanager
async def serving(store: SqlStore, oidc: OidcClient | None) -> AsyncIterator[str]:
    app = create_app(store=store)
    app.state.oidc = oidc
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def orbit_url(store: SqlStore, idp: TestProvider) -> AsyncIterator[str]:
    async with serving(store, OidcClient(OidcSettings(issuer=idp.issuer))) as url:
        yield url


class Browser:
    """What ``webbrowser.open`` does in these tests; ``pages`` collects where each run ended."""

    def __init__(self, sub: str = "sub-alice", *, action: str | None = None) -> None:
        self.sub = sub
        self.action = action
        self.opened: list[str] = []
        self.pages: list[httpx.Response] = []
        self.stray: list[int] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str, *args: Any, **kwargs: Any) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self.threads.append(thread)
        thread.start()
        return True

    def _run(self, url: str) -> None:
        with httpx.Client(timeout=30, follow_redirects=True) as http:
            # A page elsewhere feeding the listener a code of its own is turned away.
            listener = parse_qs(urlsplit(url).query)["next"][0].split("?", 1)[0]
            self.stray.append(http.get(listener, params={"code": "forged"}).status_code)
            form = http.get(url)  # Orbit's login, redirected to the IdP's form
            data = {"action": self.action} if self.action else {"sub": self.sub}
            self.pages.append(http.post(str(form.url), data=data))

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    fake = Browser()
    monkeypatch.setattr("webbrowser.open", fake.open)
    return fake


def login(url: str, **options: Any) -> Callable[[], str]:
    return lambda: oidc_login.browser_login(url, **{"open_browser": True, "timeout": 30, **options})


async def test_browser_login_returns_a_working_token(orbit_url: str, browser: Browser):
    token = await asyncio.to_thread(login(orbit_url))
    browser.join()
    assert browser.stray == [400]
    (page,) = browser.pages
    assert page.status_code == 200 and "signed in to Orbit" in page.text
    assert page.url.host == "127.0.0.1" and "code" in page.url.params
    with OrbitClient(orbit_url, token=token) as orbit:
        who = await asyncio.to_thread(orbit.whoami)
    assert who["user"] == "alice" and who["groups"] == ["platform-leads"]


async def test_orbit_login_oidc_stores_a_context(orbit_url: str, browser: Browser):
    result = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["login", "--oidc", "--server", orbit_url]
    )
    assert result.exit_code == 0, result.output
    assert f"Logged in to {orbit_url} as alice" in result.output
    found = client_config.load().for_server(orbit_url)
    assert found is not None and found.token and found.token.startswith("orbit_")


async def test_a_refused_sign_in_is_reported(orbit_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("webbrowser.open", Browser(action="deny").open)
    with pytest.raises(CliError, match=r"sign-in failed: .*access_denied"):
        await asyncio.to_thread(login(orbit_url))


async def test_no_browser_prints_the_url_and_waits_a_bounded_time(
    orbit_url: str, browser: Browser, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(CliError, match=r"no sign-in completed within 0\.5 seconds"):
        await asyncio.to_thread(login(orbit_url, open_browser=False, timeout=0.5))
    assert browser.opened == []
    assert (
        f"{orbit_url}/auth/v1/oidc/login?next=http%3A%2F%2F127.0.0.1%3A" in capsys.readouterr().err
    )


async def test_a_server_without_oidc_says_so(store: SqlStore, browser: Browser):
    async with serving(store, None) as url:
        with pytest.raises(CliError, match="does not offer OIDC login"):
            await asyncio.to_thread(login(url))
    assert browser.opened == []
