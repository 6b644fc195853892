"""``orbit gitops``: scaffold a fleet repository, and ask a GitRepository to sync now.

``init DIR`` writes the layout of :mod:`orbit.cli.scaffold` into a new or empty directory
(it never overwrites a file). ``sync NAME`` sets the GitRepository's ``requested-at``
annotation, as the signed hook does, and with ``--wait`` follows it until that request has
been handled, then prints the ``Ready`` condition (exit 1 when it is False).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from orbit.api import v1alpha1
from orbit.cli import context, scaffold
from orbit.cli.context import CliError

gitops_app = typer.Typer(help="Manage the fleet from a git repository.", no_args_is_help=True)


@gitops_app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the repository's files.")],
    url: Annotated[
        str | None,
        typer.Option("--url", help="The repository's URL for Orbit (default: file:// DIR)."),
    ] = None,
    branch: Annotated[str, typer.Option("--branch", help="The branch Orbit syncs.")] = "main",
    name: Annotated[str, typer.Option("--name", help="The GitRepository's name.")] = "fleet",
    namespace: Annotated[
        str,
        typer.Option(
            "--namespace",
            "-n",
            help=f"The GitRepository's namespace ({v1alpha1.FLEET_NAMESPACE} manages them all).",
        ),
    ] = v1alpha1.FLEET_NAMESPACE,
    recipient: Annotated[
        list[str] | None,
        typer.Option("--recipient", "-r", help="An age public key secrets are encrypted for."),
    ] = None,
) -> None:
    """Scaffold a fleet repository: a README, a layout with examples, a bootstrap."""
    target = directory.resolve()
    files = scaffold.files(
        url=url or target.as_uri(),
        branch=branch,
        name=name,
        namespace=namespace,
        recipients=list(recipient or []),
    )
    taken = [f.path for f in files if (target / f.path).exists()]
    if taken:
        raise CliError(f"{target} already holds {', '.join(taken)}; nothing was written")
    for f in files:
        path = target / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.content, encoding="utf-8")
        if f.executable:
            os.chmod(path, 0o755)
    typer.echo(f"Wrote {len(files)} files to {target}:")
    for f in files:
        typer.echo(f"  {f.path}")
    if url is None:  # Orbit pushes its status into this working copy itself
        typer.echo(
            "Next: git init -b main, commit, and `git config receive.denyCurrentBranch"
            " updateInstead` (Orbit pushes its status here); then `orbit apply -f bootstrap.yaml`."
        )
    else:
        typer.echo(
            "Next: git init, commit, push; then `orbit apply -f bootstrap.yaml` (see README.md)."
        )


@gitops_app.command("sync")
def sync(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The GitRepository.")],
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Its namespace.")
    ] = v1alpha1.FLEET_NAMESPACE,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the sync and report it.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.")] = 120.0,
) -> None:
    """Fetch and apply a GitRepository now instead of at its next interval."""
    client = context.client(ctx)
    stamp = datetime.now(UTC).isoformat(timespec="microseconds")
    patch = {"metadata": {"annotations": {v1alpha1.ANNOTATION_REQUESTED: stamp}}}
    client.patch(v1alpha1.GitRepository, name, patch, namespace=namespace)
    if not wait:
        typer.echo(f"Sync of gitrepository {namespace}/{name} requested")
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        repo = client.get(v1alpha1.GitRepository, name, namespace=namespace)
        status = repo.status
        if status is not None and status.last_handled_request == stamp:
            ready = v1alpha1.get_condition(status.conditions, "Ready")
            if ready is None:
                break
            typer.echo(f"{ready.status} {ready.reason}: {ready.message}")
            if ready.status != "True":
                raise typer.Exit(1)
            return
        time.sleep(0.5)
    raise CliError(f"gitrepository {namespace}/{name} did not sync within {timeout:g}s")
