"""Git over real HTTPS: ``git http-backend`` behind a local TLS server that wants a token.

The server is a threaded ``http.server`` on 127.0.0.1 with a self-signed certificate; it
answers 401 unless the request carries ``Authorization: Basic base64(orbit:<token>)``, and
otherwise runs git's own smart-HTTP CGI program. Each test's bare repository is under
``GIT_PROJECT_ROOT``.
"""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orbit.gitrepo import HttpsAuth, PermanentGitError, WorkingCopy
from orbit.simplane import certs

from .conftest import SEED, git, make_bare, write_back

TOKEN = "glpat-Very5ecretToken"


@dataclass
class GitServer:
    root: Path
    port: int
    ca: str
    authorizations: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.port}/{name}"


def _handler(server: GitServer) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"orbit:{TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            given = self.headers.get("Authorization", "")
            server.authorizations.append(given)
            if given != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", os.defpath),
                "HOME": "/nonexistent",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": "orbit",  # enables receive-pack (push)
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    root = tmp_path / "served"
    root.mkdir()
    cert, key, ca = certs.ensure_certificate(tmp_path / "tls")  # self-signed: its own CA
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = GitServer(root=root, port=0, ca=ca)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


async def test_clone_and_push_with_a_token(git_server: GitServer, tmp_path: Path) -> None:
    repo = make_bare(git_server.root / "fleet.git", SEED)
    auth = HttpsAuth(username="orbit", password_or_token=TOKEN, ca_certificate=git_server.ca)
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    assert (
        await wc.sync(git_server.url("fleet.git"), branch="main", auth=auth)
        == git("rev-parse", "main", cwd=repo).strip()
    )
    pushed = await write_back(wc, {".orbit/status/demo.yaml": b"phase: Ready\n"}, auth=auth)

    assert pushed == git("rev-parse", "main", cwd=repo).strip()
    assert git_server.authorizations
    assert set(git_server.authorizations) == {
        "Basic " + base64.b64encode(f"orbit:{TOKEN}".encode()).decode()
    }  # sent from the first request on, never a prompt
    config = (wc.path / ".git" / "config").read_text()
    assert TOKEN not in config
    assert "extraheader" not in config.lower()


async def test_a_wrong_token_is_refused(git_server: GitServer, tmp_path: Path) -> None:
    make_bare(git_server.root / "fleet.git", SEED)
    wrong = "glpat-WrongToken000"
    auth = HttpsAuth(username="orbit", password_or_token=wrong, ca_certificate=git_server.ca)
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    refused = r"127\.0\.0\.1:\d+ refused the credentials"
    with pytest.raises(PermanentGitError, match=refused) as caught:
        await wc.sync(git_server.url("fleet.git"), branch="main", auth=auth)
    assert wrong not in str(caught.value)


async def test_an_untrusted_certificate_is_refused(git_server: GitServer, tmp_path: Path) -> None:
    make_bare(git_server.root / "fleet.git", SEED)
    auth = HttpsAuth(username="orbit", password_or_token=TOKEN)  # no CA: the system's
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    untrusted = r"TLS certificate of 127\.0\.0\.1:\d+ is not trusted"
    with pytest.raises(PermanentGitError, match=untrusted):
        await wc.sync(git_server.url("fleet.git"), branch="main", auth=auth)
    assert not git_server.authorizations  # nothing was sent to a server we could not verify


async def test_a_missing_repository_over_https(git_server: GitServer, tmp_path: Path) -> None:
    auth = HttpsAuth(username="orbit", password_or_token=TOKEN, ca_certificate=git_server.ca)
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    with pytest.raises(PermanentGitError, match="no repository at https://"):
        await wc.sync(git_server.url("absent.git"), branch="main", auth=auth)
