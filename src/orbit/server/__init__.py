"""The Orbit REST API server (FastAPI): routes per kind, watch streaming, and the one place
where domain errors become HTTP (``orbit.server.errors``)."""

from __future__ import annotations

from orbit.server.app import create_app
from orbit.server.deps import Admission, NoAdmission

__all__ = ["Admission", "NoAdmission", "create_app"]
