"""The ``orbit`` command: a Typer app with one module per noun, talking only to the client.

The composition root (``orbit.main``) imports :data:`app` and adds the commands that need the
rest of Orbit (``up``) with ``@app.command()``; every command, theirs included, gets
the global ``--server`` option (kept in ``ctx.obj``, see :func:`orbit.cli.context.state`) and the
one-line error reporting of :class:`orbit.cli.context.OrbitGroup`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orbit.cli import apply, cluster, context, delete, describe, events, get, kubeconfig

app = typer.Typer(
    name="orbit",
    cls=context.OrbitGroup,
    help="Orbit: create, scale, upgrade and delete Kubernetes clusters from templates.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="ORBIT_SERVER",
            help="Orbit API URL (default: http://127.0.0.1:8420).",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Orbit: create, scale, upgrade and delete Kubernetes clusters from templates."""
    context.state(ctx).server = server


app.command("apply")(apply.apply)
app.command("get")(get.get)
app.command("describe")(describe.describe)
app.command("delete")(delete.delete)
app.command("events")(events.events)
app.command("kubeconfig")(kubeconfig.kubeconfig)
app.add_typer(cluster.create_app, name="create")
app.add_typer(cluster.scale_app, name="scale")
app.add_typer(cluster.upgrade_app, name="upgrade")
