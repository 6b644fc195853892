"""``orbit delete KIND NAME``: delete an object and, with ``--wait``, see it through.

A cluster lingers after DELETE while its finalizer tears the infrastructure down; ``--wait``
follows that (phase, nodes) until GET answers 404.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orbit.cli import context, output, wait


def delete(
    ctx: typer.Context,
    kind: context.KindArg,
    name: context.NameArg,
    namespace: context.NamespaceOpt = "default",
    wait_: Annotated[
        bool, typer.Option("--wait", help="Wait until the object is gone, showing progress.")
    ] = False,
    timeout: Annotated[str, typer.Option("--timeout", help="How long --wait waits.")] = "10m",
) -> None:
    """Delete an object (a cluster's infrastructure is torn down first)."""
    cls = context.resolve_kind(kind)
    limit = context.duration(timeout, option="--timeout")
    client = context.client(ctx)
    last = client.delete(cls, name, namespace=namespace)
    label = f"{cls.SINGULAR}/{name}"
    if wait_:
        wait.until_deleted(
            client, cls, name, namespace=namespace, timeout=limit, timeout_text=timeout
        )
        output.line(f"{label} deleted")
    elif last is not None and last.metadata.finalizers:
        output.line(f"{label} deleting (finalizers: {', '.join(last.metadata.finalizers)})")
    else:
        output.line(f"{label} deleted")
