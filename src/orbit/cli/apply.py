"""``orbit apply -f FILE|DIR|-``: make the server hold what the manifests say.

Each object prints ``<kind>/<name> created|configured|unchanged``. A rejected file or object
prints its error and the rest still applies; the exit code is 1 if anything failed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orbit import errors
from orbit.cli import context, manifests, output
from orbit.client import ConnectionFailed


def apply(
    ctx: typer.Context,
    filenames: Annotated[
        list[str],
        typer.Option(
            "-f",
            "--filename",
            help="A YAML/JSON file (several documents allowed), a directory, or - for stdin.",
        ),
    ],
    namespace: context.NamespaceOpt = "default",
) -> None:
    """Create or update objects from manifests."""
    loaded = manifests.load(filenames)
    failed = bool(loaded.errors)
    for message in loaded.errors:
        typer.echo(f"error: {message}", err=True)
    if not loaded.manifests:
        raise typer.Exit(1 if failed else 0)
    client = context.client(ctx)
    for manifest in loaded.manifests:
        try:
            action, obj = client.apply(manifest.doc, namespace=namespace)
        except ConnectionFailed:
            raise  # every other manifest would fail the same way
        except errors.OrbitError as exc:
            failed = True
            context.report(exc, prefix=f"{manifest.source}: ")
            continue
        output.line(f"{output.ref(obj)} {action}")
    if failed:
        raise typer.Exit(1)
