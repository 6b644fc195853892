"""OpsBoard, Orbit's web dashboard: a static single-page app with no build step.

Everything it needs is under :data:`STATIC` (``index.html``, ``css/``, ``js/`` as plain ES
modules); :mod:`orbit.server.routes.dashboard` serves it at ``/ui/``. The app talks only to
the REST API of the same server, authenticated by the ``orbit_token`` session cookie.
See docs/dashboard.md.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"
INDEX = STATIC / "index.html"
