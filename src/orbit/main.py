"""The ``orbit`` command: the composition root.

``orbit.cli`` holds every client command and talks only to the API through ``orbit.client``;
this module adds the commands that run Orbit itself (``up``), which need the server.
"""

from __future__ import annotations

from pathlib import Path

import typer

from orbit.cli import app
from orbit.config import Settings
from orbit.security.bootstrap import Bootstrap


@app.command()
def up(
    port: int | None = typer.Option(
        None,
        "--port",
        "-p",
        show_default=False,
        help="Port of the API (env ORBIT_PORT; default 8420).",
    ),
    host: str | None = typer.Option(
        None,
        "--host",
        show_default=False,
        help="Address to listen on (env ORBIT_HOST; default 127.0.0.1).",
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        "-d",
        show_default=False,
        help="Where embedded state lives (env ORBIT_DATA_DIR; default ~/.local/share/orbit).",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        show_default=False,
        help="Store URL, a SQLite file or postgresql://... (env ORBIT_DATABASE_URL; "
        "default SQLite in the data dir).",
    ),
    no_catalog: bool = typer.Option(
        False, "--no-catalog", help="Do not install the default catalog."
    ),
) -> None:
    """Run Orbit on its embedded default: SQLite, the simulated Cluster Plane, the API."""
    from orbit.server import logs, runner

    # Flags override the environment only when given, so ORBIT_* variables keep working.
    given = {"port": port, "host": host, "data_dir": data_dir, "database_url": database_url}
    overrides: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if no_catalog:
        overrides["install_catalog"] = False
    settings = Settings(**overrides)  # type: ignore[arg-type]
    logs.configure(settings.log_level, fmt=settings.log_format)
    typer.echo(f"Orbit {_version()} starting at {settings.public_url()}")
    typer.echo(f"  dashboard: {settings.public_url()}/ui/")
    typer.echo(f"  data: {settings.data_dir}  store: {_redact(settings.store_url())}")
    typer.echo(f"  admin token: {settings.admin_token_file()} (created on first start, 0600)")
    typer.echo("  try:  orbit get clustertemplates")
    typer.echo("        orbit create cluster demo --template sim-single-1-0-0 --wait")
    runner.serve(settings, on_admin=lambda first: _remember(settings, first))


def _remember(settings: Settings, first: Bootstrap) -> None:
    """First start: save the admin token as the CLI's context for this server (as k3d and
    kind write a kubeconfig), so ``orbit`` commands work at once."""
    from orbit.cli.auth import store_context

    if first.token is None:
        return
    name, path = store_context(settings.public_url(), first.token)
    typer.echo(f'  logged in: context "{name}" in {path} (admin)')


def _version() -> str:
    from importlib.metadata import version

    return version("orbit-platform")


def _redact(url: str) -> str:
    """A database URL without its password, fit to print."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
