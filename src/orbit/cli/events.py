"""``orbit events [KIND/NAME]``: what happened, in the order it happened."""

from __future__ import annotations

from typing import Annotated

import typer

from orbit.api import v1alpha1
from orbit.cli import columns, context, output


def events(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Argument(metavar="KIND/NAME", help="Only this object's Events.")
    ] = None,
    namespace: context.NamespaceOpt = "default",
    all_namespaces: context.AllNamespacesOpt = False,
) -> None:
    """List Events, oldest first."""
    kind: str | None = None
    name: str | None = None
    if target is not None:
        raw_kind, sep, name = target.partition("/")
        if not sep or not raw_kind or not name:
            raise typer.BadParameter(f"{target!r} is not KIND/NAME", param_hint="KIND/NAME")
        kind = context.resolve_kind(raw_kind).KIND
    client = context.client(ctx)
    found = [
        ev
        for ev in client.iter_all(v1alpha1.Event, namespace=None if all_namespaces else namespace)
        if kind is None or (ev.involved_object.kind == kind and ev.involved_object.name == name)
    ]
    if not found:
        where = "" if all_namespaces else f" in namespace {namespace}"
        typer.echo(f"No events found{where}.", err=True)
        return
    headers, row = columns.columns(v1alpha1.Event, all_namespaces=all_namespaces)
    output.table(headers, [row(ev) for ev in columns.sort_for_display(v1alpha1.Event, found)])
