"""The ``orbit`` command: the composition root.

``orbit.cli`` holds every client command and talks only to the API through ``orbit.client``;
this module adds the commands that run Orbit itself (``up``, the embedded all-in-one, and
``server``, one process of a production deployment), which need the server.
"""

from __future__ import annotations

from pathlib import Path

import typer

from orbit.cli import app
from orbit.config import Settings
from orbit.security.bootstrap import Bootstrap

_AGE_IDENTITY = typer.Option(
    None,
    "--age-identity",
    show_default=False,
    help="The age identity that decrypts secrets in git (env ORBIT_GITOPS__IDENTITY_FILE; "
    "default data dir/gitops/age.key, created on first start).",
)


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
    age_identity: Path | None = _AGE_IDENTITY,
) -> None:
    """Run Orbit on its embedded default: SQLite, the simulated Cluster Plane, the API."""
    from orbit.server import logs, runner

    given: dict[str, object] = {
        "port": port,
        "host": host,
        "data_dir": data_dir,
        "database_url": database_url,
    }
    settings = _settings(
        given,
        install_catalog=False if no_catalog else None,
        gitops={"identity_file": age_identity},
    )
    logs.configure(settings.log_level, fmt=settings.log_format)
    typer.echo(f"Orbit {_version()} starting at {settings.public_url()}")
    typer.echo(f"  dashboard: {settings.public_url()}/ui/")
    typer.echo(f"  data: {settings.data_dir}  store: {_redact(settings.store_url())}")
    typer.echo(f"  admin token: {settings.admin_token_file()} (created on first start, 0600)")
    typer.echo("  try:  orbit get clustertemplates")
    typer.echo("        orbit create cluster demo --template sim-single-1-0-0 --wait")
    runner.serve(settings, on_admin=lambda first: _remember(settings, first))


@app.command()
def server(
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        show_default=False,
        help="Store URL, postgresql+asyncpg://... in production (env ORBIT_DATABASE_URL). "
        "Every process of one Orbit uses the same.",
    ),
    bus_url: str | None = typer.Option(
        None,
        "--bus-url",
        show_default=False,
        help="Event bus, nats://HOST:PORT (env ORBIT_BUS__URL; default in-process).",
    ),
    role: str | None = typer.Option(
        None,
        "--role",
        show_default=False,
        help="all | api | controllers (env ORBIT_ROLE; default all). api: the API only, "
        "stateless; controllers: the controllers only, holding shard leases.",
    ),
    host: str | None = typer.Option(
        None, "--host", show_default=False, help="Address to listen on (env ORBIT_HOST)."
    ),
    port: int | None = typer.Option(
        None,
        "--port",
        "-p",
        show_default=False,
        help="Port of the API, or of /healthz and /readyz for role controllers (env ORBIT_PORT).",
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        "-d",
        show_default=False,
        help="Local state: keyring, TLS certificates, caches (env ORBIT_DATA_DIR).",
    ),
    shards: int | None = typer.Option(
        None,
        "--shards",
        show_default=False,
        help="Shards of the controllers' keyspace; the same in every process "
        "(env ORBIT_SHARDING__SHARDS; default 16).",
    ),
    lease_seconds: float | None = typer.Option(
        None,
        "--lease-seconds",
        show_default=False,
        help="How long a controller process holds its shards unrenewed: a process that dies "
        "is taken over after this (env ORBIT_SHARDING__LEASE_SECONDS; default 15).",
    ),
    age_identity: Path | None = _AGE_IDENTITY,
) -> None:
    """Run one process of a production Orbit: several of them share PostgreSQL (and NATS)."""
    from orbit.server import logs, runner

    if role is not None and role not in ("all", "api", "controllers"):
        raise typer.BadParameter("use all, api or controllers", param_hint="--role")
    given: dict[str, object] = {
        "port": port,
        "host": host,
        "data_dir": data_dir,
        "database_url": database_url,
        "role": role,
    }
    settings = _settings(
        given,
        bus={"url": bus_url},
        sharding={"shards": shards, "lease_seconds": lease_seconds},
        gitops={"identity_file": age_identity},
    )
    logs.configure(settings.log_level, fmt=settings.log_format)
    typer.echo(f"Orbit {_version()} server, role {settings.role}, at {settings.public_url()}")
    typer.echo(f"  data: {settings.data_dir}  store: {_redact(settings.store_url())}")
    typer.echo(f"  simulated plane: {_redact(settings.sim_url())}")
    if settings.role != "api":
        typer.echo(
            f"  shards: {settings.sharding.shards}, lease {settings.sharding.lease_seconds:g}s"
        )
    runner.serve(settings)


def _settings(
    given: dict[str, object], *, install_catalog: bool | None = None, **nested: dict[str, object]
) -> Settings:
    """Settings from the environment, with the flags that were given on top (flags override
    the environment only when given, so ORBIT_* variables keep working, nested ones too)."""
    overrides: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if install_catalog is not None:
        overrides["install_catalog"] = install_catalog
    base = Settings()
    for section, values in nested.items():
        flags = {k: v for k, v in values.items() if v is not None}
        if flags:
            current = getattr(base, section).model_dump()
            overrides[section] = {**current, **flags}
    return Settings(**overrides)  # type: ignore[arg-type]


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
