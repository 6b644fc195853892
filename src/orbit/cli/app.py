"""The ``orbit`` command: a Typer app with one module per noun, talking only to the client.

The composition root (``orbit.main``) imports :data:`app` and adds the commands that need the
rest of Orbit (``up``) with ``@app.command()``; every command, theirs included, gets
the global ``--server`` option (kept in ``ctx.obj``, see :func:`orbit.cli.context.state`) and the
one-line error reporting of :class:`orbit.cli.context.OrbitGroup`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orbit.cli import (
    admin,
    apply,
    audit,
    auth,
    cluster,
    context,
    delete,
    describe,
    events,
    get,
    gitops,
    kubeconfig,
    secrets,
)

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
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="ORBIT_TOKEN",
            help="API token (default: the context's, from orbit login).",
            show_envvar=True,
        ),
    ] = None,
    context_name: Annotated[
        str | None,
        typer.Option(
            "--context",
            envvar="ORBIT_CONTEXT",
            help="Context of ~/.orbit/config to use (default: the current one).",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Orbit: create, scale, upgrade and delete Kubernetes clusters from templates."""
    state = context.state(ctx)
    state.server, state.token, state.context = server, token, context_name


app.command("apply")(apply.apply)
app.command("get")(get.get)
app.command("describe")(describe.describe)
app.command("delete")(delete.delete)
app.command("events")(events.events)
app.command("kubeconfig")(kubeconfig.kubeconfig)
app.command("login")(auth.login)
app.command("logout")(auth.logout)
app.command("whoami")(auth.whoami)
app.add_typer(auth.token_app, name="token")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(admin.admin_app, name="admin")
app.add_typer(auth.config_app, name="config")
app.add_typer(secrets.secrets_app, name="secrets")
app.add_typer(gitops.gitops_app, name="gitops")
app.add_typer(cluster.create_app, name="create")
app.add_typer(cluster.scale_app, name="scale")
app.add_typer(cluster.upgrade_app, name="upgrade")
