"""``orbit login --oidc``: sign in through the server's identity provider, in a browser.

The native-app pattern of RFC 8252: the CLI never talks to the identity provider and never
holds its tokens; the Orbit server runs the OIDC code flow (with PKCE) and the CLI only
receives a one-time code on a loopback listener, which it redeems for an Orbit API token.

1. Ask the server whether it offers OIDC (``GET /auth/v1/oidc``).
2. Listen on ``127.0.0.1`` on a free port (stdlib ``http.server`` in a thread).
3. Open ``SERVER/auth/v1/oidc/login?next=http://127.0.0.1:PORT/callback?state=S`` in the
   browser (always also printed; only printed with ``--no-browser``). The browser signs in at
   the identity provider and ends at the listener with ``?code=`` (or ``?error=``).
4. The listener accepts only a request carrying ``S`` (another web page cannot feed it a code
   of its own), shows the browser a short page, and the code is redeemed once at
   ``POST /auth/v1/oidc/exchange`` for the token.

The wait is bounded (five minutes by default); the listener is closed in every case.
"""

from __future__ import annotations

import html
import http.server
import secrets
import threading
import webbrowser
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import typer

from orbit.cli.context import CliError
from orbit.client import OrbitClient

TIMEOUT = 300.0
CALLBACK_PATH = "/callback"


@dataclass
class _Outcome:
    code: str | None = None
    error: str | None = None


class _Listener:
    """The loopback HTTP listener that receives the login's outcome once."""

    def __init__(self) -> None:
        self.state = secrets.token_urlsafe(24)
        self.done = threading.Event()
        self.outcome = _Outcome()
        self._server = http.server.HTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{CALLBACK_PATH}?{urlencode({'state': self.state})}"

    def __enter__(self) -> _Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path != CALLBACK_PATH:
                    self._page(404, "Not found", "This is the Orbit CLI's sign-in listener.")
                    return
                if listener.done.is_set() or not secrets.compare_digest(
                    query.get("state", ""), listener.state
                ):
                    self._page(400, "Not this sign-in", "This response is not for this login.")
                    return
                if query.get("code"):
                    listener.outcome = _Outcome(code=query["code"])
                    self._page(200, "Signed in", "You are signed in to Orbit: close this tab.")
                else:
                    reason = query.get("error_description") or query.get("error") or "no code"
                    listener.outcome = _Outcome(error=reason)
                    self._page(400, "Sign-in failed", reason)
                listener.done.set()

            def _page(self, status: int, title: str, text: str) -> None:
                body = (
                    f"<!doctype html><title>Orbit: {html.escape(title)}</title>"
                    f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the query carries the code: keep it out of the terminal

        return Handler


def browser_login(server: str, *, open_browser: bool, timeout: float = TIMEOUT) -> str:
    """Sign in at ``server``'s identity provider in a browser; the new Orbit API token."""
    with OrbitClient(server) as orbit:
        info = orbit.oidc_info()
        if not info.get("enabled"):
            raise CliError(
                f"{orbit.server} does not offer OIDC login (no identity provider is configured "
                "there): log in with a token instead"
            )
        with _Listener() as listener:
            url = f"{orbit.server}/auth/v1/oidc/login?{urlencode({'next': listener.url})}"
            if open_browser and webbrowser.open(url):
                typer.echo(
                    f"Opened your browser to sign in; if it did not, open:\n  {url}", err=True
                )
            else:
                typer.echo(f"Open this URL in a browser to sign in:\n  {url}", err=True)
            if not listener.done.wait(timeout):
                raise CliError(f"no sign-in completed within {timeout:g} seconds")
        outcome = listener.outcome
        if outcome.code is None:
            raise CliError(f"the sign-in failed: {outcome.error}")
        token = orbit.oidc_exchange(outcome.code).get("token")
    if not isinstance(token, str) or not token:
        raise CliError("the server answered the login code without a token")
    return token
