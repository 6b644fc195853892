"""OpsBoard's files: ``/`` redirects to ``/ui/``, ``/ui/static/...`` serves the assets of
:data:`orbit.dashboard.STATIC`, and every other ``/ui/...`` path answers ``index.html`` so that
deep links (``/ui/clusters/team-a/demo``) load the app, whose router then shows the page.

These routes are public: they serve only the app's own code, which signs in through
``/auth/v1/session`` and reads everything else from the authenticated API. They are left out
of the OpenAPI document (they are not part of the REST API).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from orbit import errors
from orbit.dashboard import INDEX, STATIC

router = APIRouter(include_in_schema=False)

# Explicit, so the answer does not depend on the host's mime.types (ES modules must be served
# with a JavaScript type or the browser refuses to run them).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
# No hashed file names (no build step): the browser may keep a copy but must revalidate it, so
# an upgraded Orbit never runs yesterday's modules against today's API.
CACHE = "no-cache"
# Only the app's own files, scripts and API; no inline scripts or styles, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Cache-Control": CACHE,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _file(path: Path) -> FileResponse:
    media_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    headers = dict(HEADERS)
    if path.suffix.lower() == ".html":
        headers["Content-Security-Policy"] = CSP
        headers["X-Frame-Options"] = "DENY"
    return FileResponse(path, media_type=media_type, headers=headers)


def static_file(relative: str) -> Path:
    """The file ``relative`` names under STATIC; NotFound for anything else (a directory, a
    missing file, or a path that leaves STATIC through ``..`` or a symlink)."""
    root = STATIC.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        raise errors.NotFound(f"no dashboard file {relative!r}")
    return candidate


@router.api_route("/", methods=["GET", "HEAD"])
async def root() -> Response:
    return RedirectResponse("/ui/", status_code=307)


@router.api_route("/ui", methods=["GET", "HEAD"])
async def ui_bare() -> Response:
    return RedirectResponse("/ui/", status_code=307)


@router.api_route("/ui/static/{path:path}", methods=["GET", "HEAD"])
async def asset(path: str) -> Response:
    return _file(static_file(path))


@router.api_route("/ui/", methods=["GET", "HEAD"])
@router.api_route("/ui/{path:path}", methods=["GET", "HEAD"])
async def index(path: str = "") -> Response:
    return _file(INDEX)
