"""The ``orbit`` command line: Typer + Rich over :mod:`orbit.client` (never the store or the
server). ``app`` is the Typer application; the composition root adds ``up``/``server`` to it.
"""

from __future__ import annotations

from orbit.cli.app import app
from orbit.cli.context import CliError, State, client, report, state

__all__ = ["CliError", "State", "app", "client", "report", "state"]
