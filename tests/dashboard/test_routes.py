"""The dashboard's files as the API process serves them: the redirect, the assets with their
types and cache headers, index.html for deep links, no way out of the static directory, and
nothing of it in the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from orbit.dashboard import STATIC
from orbit.server import create_app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(store=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def test_root_redirects_to_the_dashboard(client: httpx.AsyncClient) -> None:
    for path in ("/", "/ui"):
        answer = await client.get(path)
        assert answer.status_code == 307
        assert answer.headers["location"] == "/ui/"


@pytest.mark.parametrize("path", ["/ui/", "/ui/login", "/ui/clusters/team-a/demo", "/ui/x/y/z?q=1"])
async def test_every_ui_path_is_the_app(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == (STATIC / "index.html").read_text()
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-cache"
    assert "<script>" not in answer.text  # no inline scripts: the CSP forbids them


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("js/app.js", "text/javascript"),
        ("js/pages/index.js", "text/javascript"),
        ("css/app.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
async def test_assets_have_their_types(
    client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    answer = await client.get(f"/ui/static/{path}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == content_type
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.content == (STATIC / path).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/nope.js",
        "/ui/static/js",  # a directory
        "/ui/static/%2e%2e/__init__.py",
        "/ui/static/..%2f__init__.py",
        "/ui/static/js/%2e%2e/%2e%2e/%2e%2e/__init__.py",
        "/ui/static//etc/passwd",
        "/ui/static/%2fetc%2fpasswd",
    ],
)
async def test_nothing_outside_static(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 404, answer.text
    assert answer.json()["kind"] == "Status"


async def test_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/ui")]


def test_no_inline_handlers_or_scripts_in_the_app() -> None:
    """The CSP blocks inline code, so none may exist; and data is never written as HTML."""
    for path in STATIC.rglob("*"):
        if path.suffix not in (".html", ".js"):
            continue
        text = path.read_text()
        assert "innerHTML" not in text, path
        assert "outerHTML" not in text, path
        assert "insertAdjacentHTML" not in text, path
        assert "eval(" not in text, path
        if path.suffix == ".html":
            assert " onclick=" not in text.lower(), path
            assert "<script>" not in text, path
