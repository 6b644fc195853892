"""How the CLI writes to the terminal: tables, human durations, YAML and JSON.

Tables are Rich tables on a terminal and plain, space-aligned columns otherwise (pipes, files,
tests), as kubectl prints them, so scripts can cut columns. Object dumps never pass through Rich
markup: a message like ``spec.upgradeTo[1]`` must print as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
import yaml
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orbit.api import v1alpha1

_GAP = "   "


def console() -> Console:
    # Made per call: CliRunner and pipes swap sys.stdout between invocations.
    return Console(highlight=False, soft_wrap=True)


def is_terminal() -> bool:
    return console().is_terminal


def line(text: str = "") -> None:
    typer.echo(text)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    indent: int = 0,
    plain: bool = False,
) -> list[int]:
    """Print a table; returns the column widths so later rows (``get -w``) can line up."""
    widths = column_widths(headers, rows)
    out = console()
    if out.is_terminal and not indent and not plain:
        rich_table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for header in headers:
            rich_table.add_column(header, header_style="bold", no_wrap=True)
        for row in rows:
            rich_table.add_row(*(Text(cell) for cell in row))
        # Never fold cells into a narrow terminal: long rows run on, as kubectl's do.
        natural = sum(widths) + 3 * len(widths)
        Console(highlight=False, width=max(out.width, natural)).print(rich_table)
        return widths
    line(format_row(widths, headers, indent=indent))
    for row in rows:
        line(format_row(widths, row, indent=indent))
    return widths


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]


def format_row(widths: Sequence[int], row: Sequence[str], *, indent: int = 0) -> str:
    cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
    cells += [str(cell) for cell in row[len(widths) :]]
    return (" " * indent + _GAP.join(cells)).rstrip()


def human_duration(delta: timedelta) -> str:
    """kubectl's short durations: 45s, 5m30s, 45m, 3h20m, 30h, 3d5h, 45d, 2y."""
    seconds = max(int(delta.total_seconds()), 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y"


def age(stamp: datetime | None, *, now: datetime | None = None) -> str:
    if stamp is None:
        return "-"
    return human_duration((now or datetime.now(UTC)) - stamp)


def until(stamp: datetime | None, *, now: datetime | None = None) -> str:
    """``in 4m`` for a future instant, ``expired`` for a past one, ``-`` for none."""
    if stamp is None:
        return "-"
    left = stamp - (now or datetime.now(UTC))
    return f"in {human_duration(left)}" if left.total_seconds() > 0 else "expired"


def stamp(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat().replace("+00:00", "Z")


def ref(obj: v1alpha1.Resource) -> str:
    """``clusterdeployment/dev``: how the CLI names an object in its messages."""
    return f"{obj.SINGULAR}/{obj.metadata.name}"


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def as_list(cls: type[v1alpha1.Resource], items: Sequence[v1alpha1.Resource], revision: str) -> Any:
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": f"{cls.KIND}List",
        "metadata": {"resourceVersion": revision},
        "items": [item.to_dict() for item in items],
    }


def dump(data: Any, fmt: str) -> None:
    """Print ``data`` as ``yaml`` or ``json``."""
    if fmt == "json":
        line(json.dumps(data, indent=2))
    else:
        line(to_yaml(data).rstrip("\n"))
