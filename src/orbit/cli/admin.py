"""``orbit admin``: operations on the Orbit installation itself (global-admin only).

``orbit admin rotate-key`` re-encrypts every secret under a new key-encryption key while
Orbit keeps serving, then destroys the old key; rerun it if it was interrupted.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from orbit.cli import context

admin_app = typer.Typer(
    name="admin",
    help="Operate the Orbit installation: key rotation.",
    no_args_is_help=True,
)


@admin_app.command("rotate-key")
def rotate_key(
    ctx: typer.Context,
    rewrap_only: Annotated[
        bool,
        typer.Option(
            "--rewrap-only",
            help="Re-encrypt under the current primary key without adding one (finish an "
            "interrupted rotation, or after changing ORBIT_SECURITY__KEYS).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Re-encrypt every secret under a new key-encryption key, then retire the old keys."""
    report = context.client(ctx).rotate_key(rewrap_only=rewrap_only)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"{report['rewrapped']} secret(s) re-encrypted under key {report['primary']}")
    retired = ", ".join(report.get("retired") or []) or "none"
    typer.echo(f"retired keys: {retired}")
    for key_id in report.get("kept") or []:
        typer.echo(f"kept key {key_id}: secrets under it did not open", err=True)
    for failure in report.get("failed") or []:
        typer.echo(f"failed: {failure}", err=True)
    if report.get("remaining"):
        typer.echo(f"{report['remaining']} secret(s) remain under old keys", err=True)
        raise typer.Exit(1)
