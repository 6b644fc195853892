"""``orbit audit [filters]`` lists the audit log; ``orbit audit verify`` checks its hash chain.

The list is the group's own callback (``invoke_without_command``), so the common case needs no
verb: ``orbit audit --actor alice --since 1h``. Records print oldest first (the newest at the
bottom, next to the prompt), as ``orbit events`` does; the server returns the newest ``--limit``.

``verify`` prints the record count and the head as ``SEQ:HASH``: keep that line somewhere the
database's users cannot write, and ``orbit audit verify --anchor SEQ:HASH`` later proves nothing
up to it was rewritten. A broken chain exits 1 naming the first broken record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from orbit.api import v1alpha1
from orbit.cli import context, output

audit_app = typer.Typer(
    help="The audit log: who changed what, when, from where, and how it ended.",
    invoke_without_command=True,
)

HEADERS = ("SEQ", "TIME", "ACTOR", "VERB", "RESOURCE", "NAMESPACE", "NAME", "CODE", "OUTCOME",
           "MESSAGE")  # fmt: skip
_MESSAGE_WIDTH = 80


class Format(StrEnum):
    TABLE = "table"
    YAML = "yaml"
    JSON = "json"


FormatOpt = Annotated[Format, typer.Option("-o", "--output", help="table, yaml or json.")]


def _instant(value: str | None, *, option: str) -> datetime | None:
    """``1h`` (that long ago) or an RFC 3339 time; a usage error otherwise."""
    if value is None:
        return None
    try:
        return datetime.now(UTC) - v1alpha1.parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a duration (30m, 2h, 7d) nor a time (2024-05-01T12:00:00Z)",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_app.callback()
def records(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user's.")] = None,
    verb: Annotated[
        str | None, typer.Option("--verb", help="create, update, patch or delete.")
    ] = None,
    resource: Annotated[
        str | None,
        typer.Option(
            "--resource",
            help="A plural, e.g. clusterdeployments, tokens, clusterdeployments/proxy.",
        ),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("-n", "--namespace", help="Only this namespace (default: all).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only this object's.")] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="success, denied or failed.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Newer than this: 1h, 7d, or a time.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Older than this: 1h, 7d, or a time.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many (the newest).")
    ] = 100,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """List audit records (the newest --limit, printed oldest first), filtered."""
    if ctx.invoked_subcommand is not None:
        return
    found = context.client(ctx).audit_records(
        actor=actor,
        verb=verb,
        resource=resource,
        namespace=namespace,
        name=name,
        outcome=outcome,
        since=_instant(since, option="--since"),
        until=_instant(until, option="--until"),
        limit=limit,
    )
    found.reverse()
    if fmt is not Format.TABLE:
        output.dump({"kind": "AuditRecordList", "items": found}, fmt.value)
    elif found:
        output.table(HEADERS, [_row(record) for record in found])
    else:
        typer.echo("No audit records found.", err=True)


def _row(record: dict[str, Any]) -> list[str]:
    message = str(record.get("message") or "-").replace("\n", " ")
    if len(message) > _MESSAGE_WIDTH:
        message = message[: _MESSAGE_WIDTH - 3] + "..."
    at = str(record.get("at", ""))
    return [
        str(record.get("seq", "")),
        at[:19] + "Z" if len(at) >= 19 else at,
        str(record.get("actor") or "-"),
        str(record.get("verb") or "-"),
        str(record.get("resource") or "-"),
        str(record.get("namespace") or "-"),
        str(record.get("name") or "-"),
        str(record.get("code", "")),
        str(record.get("outcome") or "-"),
        message,
    ]


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    anchor: Annotated[
        str | None,
        typer.Option("--anchor", metavar="SEQ:HASH", help="A head printed earlier: must match."),
    ] = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Check the hash chain: exit 1 naming the first changed, removed or inserted record."""
    report = context.client(ctx).audit_verify(anchor=anchor)
    head = report.get("head") or {}
    head_text = f"{head.get('seq', 0)}:{head.get('hash', '')}"
    if fmt is not Format.TABLE:
        output.dump(report, fmt.value)
    elif report.get("intact"):
        output.line(f"audit log intact: {report.get('records', 0)} records")
        output.line(f"head: {head_text}")
    if report.get("intact"):
        return
    broken = report.get("broken") or {}
    raise context.CliError(
        f"audit log broken at record {broken.get('seq')} ({broken.get('problem')}): "
        f"{broken.get('message')}; the {report.get('records', 0)} records before it verify "
        f"(last good {head_text})"
    )
