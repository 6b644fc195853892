"""What every command shares: the per-invocation state (server, client), the common options,
kind resolution, and how an expected error reaches the user.

Expected errors (anything derived from ``orbit.errors.OrbitError``: the server's refusals, an
unreachable server, a bad manifest) become one ``error: <message>`` line on stderr, one indented
line per field cause, and exit code 1; :class:`OrbitGroup` does that for every command, including
the ones the composition root adds, so no command needs its own try/except.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from orbit import errors
from orbit.api import v1alpha1
from orbit.client import OrbitClient

NamespaceOpt = Annotated[
    str,
    typer.Option("-n", "--namespace", envvar="ORBIT_NAMESPACE", help="Namespace of the object."),
]
KindArg = Annotated[
    str,
    typer.Argument(metavar="KIND", help="Kind: plural, singular or short name (cd, ct, cred, ns)."),
]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Name of the object.")]
AllNamespacesOpt = Annotated[
    bool, typer.Option("-A", "--all-namespaces", help="Every namespace (adds a NAMESPACE column).")
]


class CliError(errors.OrbitError):
    """A failure the CLI itself detects (a wait that failed or timed out, an ambiguous
    default); reported like any other expected error."""


@dataclass
class State:
    """Per-invocation state, kept in ``ctx.obj`` by the app callback."""

    server: str | None = None
    token: str | None = field(default=None, repr=False)
    context: str | None = None
    _client: OrbitClient | None = field(default=None, repr=False)

    def client(self, ctx: typer.Context) -> OrbitClient:
        """The invocation's client, closed when the command ends."""
        if self._client is None:
            self._client = OrbitClient(self.server, token=self.token, context=self.context)
            ctx.find_root().call_on_close(self._client.close)
        return self._client


def state(ctx: typer.Context) -> State:
    """The invocation's State (created on first use, so commands work without the callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def client(ctx: typer.Context) -> OrbitClient:
    return state(ctx).client(ctx)


def resolve_kind(name: str) -> type[v1alpha1.Resource]:
    """A kind by any of its names; a usage error listing the known ones otherwise."""
    cls = v1alpha1.resolve_kind(name)
    if cls is None:
        known = ", ".join(k.PLURAL for k in v1alpha1.KINDS)
        raise typer.BadParameter(
            f'unknown kind "{name}": known kinds are {known} (singular and short names work too)'
        )
    return cls


def error_lines(exc: errors.OrbitError, *, prefix: str = "") -> list[str]:
    message = exc.message
    details = "; ".join(f"{c.field}: {c.message}" if c.field else c.message for c in exc.causes)
    if details and message.endswith(details):
        # "X is invalid: a: m; b: n" -> a header, then one line per cause
        message = message[: -len(details)].rstrip(" :") + ":"
    lines = [f"error: {prefix}{message}"]
    lines += [f"  {c.field}: {c.message}" if c.field else f"  {c.message}" for c in exc.causes]
    return lines


def report(exc: errors.OrbitError, *, prefix: str = "") -> None:
    for line in error_lines(exc, prefix=prefix):
        typer.echo(line, err=True)


class OrbitGroup(TyperGroup):
    """The root command group: turns expected errors into ``error:`` lines and exit code 1."""

    def invoke(self, ctx: Any) -> Any:  # click.Context (vendored by typer)
        try:
            return super().invoke(ctx)
        except errors.OrbitError as exc:
            report(exc)
            raise typer.Exit(1) from None


def duration(value: str, *, option: str) -> timedelta:
    """Parse a ``90s``/``15m``/``2h`` option value; a usage error (exit 2) if it is not one."""
    try:
        parsed = v1alpha1.parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    if parsed <= timedelta(0):
        raise typer.BadParameter("must be longer than zero", param_hint=option)
    return parsed
