"""``orbit login | logout | whoami | token ... | config ...``: identities and contexts.

``orbit login --server URL`` checks a token against the server (``whoami``) and stores it in
``~/.orbit/config`` (0600) as a named context; ``--oidc`` signs in through the server's
identity provider in a browser instead. Tokens are secrets: ``token create`` prints the new
token once, and nothing here ever prints a stored one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from orbit.cli import context, output
from orbit.client import DEFAULT_SERVER, OrbitClient
from orbit.client import config as client_config

token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
config_app = typer.Typer(help="Contexts in ~/.orbit/config.", no_args_is_help=True)


def _context_name(server: str) -> str:
    host = server.split("://", 1)[-1].split("/", 1)[0]
    return "local" if host.startswith(("127.0.0.1", "localhost")) else host.split(":", 1)[0]


def store_context(server: str, token: str, *, name: str | None = None) -> tuple[str, Path]:
    """Save ``server`` + ``token`` as the context ``name`` (default: the one this server
    already has, else one named after it) and make it current; returns (name, config path)."""
    config = client_config.load()
    existing = config.for_server(server)
    # Without a name, refresh the context this server already has; a named context sits
    # beside others for the same server (two identities on one Orbit, as in a kubeconfig).
    chosen = name or (existing.name if existing else _context_name(server))
    config.upsert(client_config.Context(chosen, server.rstrip("/"), token))
    return chosen, client_config.save(config)


def login(
    ctx: typer.Context,
    server: Annotated[
        str | None, typer.Option("--server", help="Orbit API URL (default: the global --server).")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="An API token (better: --token-file or stdin).")
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="Read the token from this file ('-' for stdin)."),
    ] = None,
    oidc: Annotated[
        bool, typer.Option("--oidc", help="Sign in with the server's identity provider.")
    ] = False,
    name: Annotated[str | None, typer.Option("--context", help="Name of the context.")] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the sign-in URL instead of opening it.")
    ] = False,
) -> None:
    """Sign in to an Orbit server and store the credentials as a context."""
    url = server or context.state(ctx).server or os.environ.get("ORBIT_SERVER")
    if not url:
        current = client_config.load()
        found = current.find(current.current) if current.current else None
        url = found.server if found else DEFAULT_SERVER
    if oidc:
        from orbit.cli import oidc_login

        secret = oidc_login.browser_login(url, open_browser=not no_browser)
    elif token_file is not None:
        text = typer.get_text_stream("stdin").read() if str(token_file) == "-" else None
        secret = (text if text is not None else token_file.read_text()).strip()
    elif token:
        secret = token.strip()
    else:
        secret = typer.prompt("Token", hide_input=True).strip()
    with OrbitClient(url, token=secret) as orbit:
        who = orbit.whoami()
    chosen, path = store_context(orbit.server, secret, name=name)
    typer.echo(f'Logged in to {orbit.server} as {who["user"]}; context "{chosen}" in {path}')


def logout(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--context", help="Context to remove.")] = None,
) -> None:
    """Forget the current (or the named) context's credentials."""
    config = client_config.load()
    target = name or config.current
    if not target or not config.remove(target):
        raise context.CliError(f'no context "{target or ""}" to log out of')
    client_config.save(config)
    typer.echo(f'Removed context "{target}"')


def whoami(
    ctx: typer.Context,
    out: Annotated[str, typer.Option("-o", "--output", help="table or json")] = "table",
) -> None:
    """Who the server thinks you are: user, groups, token scopes and roles."""
    who = context.client(ctx).whoami()
    if out == "json":
        typer.echo(json.dumps(who, indent=2))
        return
    roles = who.get("roles", {})
    typer.echo(f"user:    {who['user']}")
    typer.echo(f"groups:  {', '.join(who.get('groups', [])) or '-'}")
    typer.echo(f"scopes:  {', '.join(who.get('scopes', []))}")
    typer.echo(f"global:  {', '.join(roles.get('global', [])) or '-'}")
    for ns, held in roles.get("namespaces", {}).items():
        typer.echo(f"  {ns}: {', '.join(held)}")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="For another user (admin).")] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="read, write, proxy (repeat; default all).")
    ] = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="Lifetime, e.g. 12h or 30d.")] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
) -> None:
    """Issue a token and print it (this is the only time it is shown)."""
    hours = _seconds(ttl.strip()) / 3600 if ttl else None
    made = context.client(ctx).create_token(
        user=user, scopes=tuple(scope or ()), ttl_hours=hours, description=description
    )
    typer.echo(made["token"])
    typer.echo(
        f"token {made['id']} for {made['user']} (scopes {','.join(made['scopes'])}, "
        f"expires {made.get('expiresAt') or 'never'}); it is not shown again",
        err=True,
    )


def _seconds(text: str) -> float:
    """``30d`` or any duration the other commands take (``90s``, ``15m``, ``12h``)."""
    if text.endswith("d") and text[:-1].isdigit():
        return int(text[:-1]) * 86400.0
    return context.duration(text, option="--ttl").total_seconds()


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Another user's tokens.")] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every user's tokens (admin).")] = False,
) -> None:
    """List tokens (never their secrets)."""
    items = context.client(ctx).list_tokens(user=user, all=all_users)
    rows = [
        [
            t["id"],
            t["user"],
            ",".join(t["scopes"]),
            t["state"],
            t.get("expiresAt") or "never",
            t.get("description", ""),
        ]
        for t in items
    ]
    output.table(["ID", "USER", "SCOPES", "STATE", "EXPIRES", "DESCRIPTION"], rows)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Revoke a token: it stops working at once."""
    done = context.client(ctx).revoke_token(token_id)
    typer.echo(f"token {done['id']} revoked")


@config_app.command("get-contexts")
def get_contexts() -> None:
    """List the contexts (without their tokens)."""
    config = client_config.load()
    rows = [
        ["*" if c.name == config.current else "", c.name, c.server, "yes" if c.token else "no"]
        for c in config.contexts
    ]
    output.table(["CURRENT", "NAME", "SERVER", "TOKEN"], rows)


@config_app.command("use-context")
def use_context(name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Make NAME the current context."""
    config = client_config.load()
    if config.find(name) is None:
        known = ", ".join(c.name for c in config.contexts) or "none"
        raise context.CliError(f'no context "{name}" (contexts: {known})')
    config.current = name
    client_config.save(config)
    typer.echo(f'Switched to context "{name}"')
