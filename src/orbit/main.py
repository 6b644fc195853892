"""The ``orbit`` command: the composition root.

``orbit.cli`` holds every client command and talks only to the API through ``orbit.client``;
this module adds the commands that run Orbit itself (``up``), which need the server.
"""

from __future__ import annotations

from pathlib import Path

import typer

from orbit.cli import app
from orbit.config import Settings


@app.command()
def up(
    port: int = typer.Option(8420, "--port", "-p", help="Port of the API and dashboard."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", "-d", help="Where embedded state lives [default: ~/.local/share/orbit]."
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="ORBIT_DATABASE_URL",
        help="Store URL (SQLite file or postgresql://...) [default: SQLite in the data dir].",
    ),
    no_catalog: bool = typer.Option(
        False, "--no-catalog", help="Do not install the default catalog."
    ),
) -> None:
    """Run Orbit on its embedded default: SQLite, the simulated Cluster Plane, API on PORT."""
    from orbit.server import logs, runner

    overrides: dict[str, object] = {"port": port, "host": host}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    if no_catalog:
        overrides["install_catalog"] = False
    settings = Settings(**overrides)  # type: ignore[arg-type]
    logs.configure(settings.log_level, fmt=settings.log_format)
    typer.echo(f"Orbit {_version()} starting at http://{settings.host}:{settings.port}")
    typer.echo(f"  data: {settings.data_dir}  store: {_redact(settings.store_url())}")
    typer.echo("  try:  orbit get clustertemplates")
    typer.echo("        orbit create cluster demo --template sim-single-1-0-0 --wait")
    runner.serve(settings)


def _version() -> str:
    from importlib.metadata import version

    return version("orbit-platform")


def _redact(url: str) -> str:
    """A database URL without its password, fit to print."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
