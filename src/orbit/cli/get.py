"""``orbit get KIND [NAME]``: list or show objects as a table, YAML or JSON, and ``-w`` to
follow changes (one row per change, as ``kubectl get -w`` prints them)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer

from orbit.api import v1alpha1
from orbit.cli import columns, context, output
from orbit.client import GoneError, OrbitClient


class Format(StrEnum):
    WIDE = "wide"
    YAML = "yaml"
    JSON = "json"


def get(
    ctx: typer.Context,
    kind: context.KindArg,
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="One object by name.")] = None,
    namespace: context.NamespaceOpt = "default",
    all_namespaces: context.AllNamespacesOpt = False,
    selector: Annotated[
        str | None, typer.Option("-l", "--selector", help="Label selector, e.g. env=dev,tier!=db.")
    ] = None,
    fmt: Annotated[Format | None, typer.Option("-o", "--output", help="Output format.")] = None,
    watch: Annotated[bool, typer.Option("-w", "--watch", help="Then print changes.")] = False,
    timeout: Annotated[
        str | None, typer.Option("--timeout", help="With -w: stop after this long (e.g. 10m).")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("-c", "--cluster", help="With `get services`: one cluster's.")
    ] = None,
) -> None:
    """Show objects of a kind: a table (-o wide for more columns), or -o yaml|json.

    `orbit get services [-c CLUSTER]` lists the services delivered to clusters, one row each."""
    if kind.lower() in ("services", "service", "svc"):
        _services(ctx, namespace=None if all_namespaces else namespace, cluster=cluster, fmt=fmt)
        return
    cls = context.resolve_kind(kind)
    if name and all_namespaces:
        raise typer.BadParameter("an object cannot be named across all namespaces", ctx=ctx)
    timeout_seconds = (
        int(context.duration(timeout, option="--timeout").total_seconds()) if timeout else None
    )
    ns = None if all_namespaces or not cls.NAMESPACED else namespace
    client = context.client(ctx)
    if name:
        obj = client.get(cls, name, namespace=namespace)
        items: list[v1alpha1.Resource] = [obj]
        revision = obj.metadata.resource_version or "0"
        if watch:
            revision = client.list(cls, namespace=ns, limit=1).revision
    else:
        page = client.list_all(cls, namespace=ns, selector=selector)
        items = columns.sort_for_display(cls, page.items)
        revision = page.revision

    headers, row = columns.columns(cls, wide=fmt is Format.WIDE, all_namespaces=all_namespaces)
    widths: list[int] = []
    if fmt in (Format.YAML, Format.JSON):
        output.dump(items[0].to_dict() if name else output.as_list(cls, items, revision), fmt)
    elif items or watch:
        widths = output.table(headers, [row(obj) for obj in items], plain=watch)
    elif all_namespaces or not cls.NAMESPACED:
        typer.echo("No resources found.", err=True)
    else:
        typer.echo(f"No resources found in namespace {namespace}.", err=True)
    if not watch:
        return
    try:
        _follow(
            client,
            cls,
            namespace=ns,
            selector=None if name else selector,
            name=name,
            revision=revision,
            timeout_seconds=timeout_seconds,
            emit=lambda obj: _emit(obj, fmt=fmt, widths=widths, row=row),
        )
    except KeyboardInterrupt:
        return


def _services(
    ctx: typer.Context, *, namespace: str | None, cluster: str | None, fmt: Format | None
) -> None:
    client = context.client(ctx)
    selector = f"{v1alpha1.LABEL_CLUSTER}={cluster}" if cluster else None
    page = client.list_all(v1alpha1.ServiceSet, namespace=namespace, selector=selector)
    sets = [s for s in page.items if isinstance(s, v1alpha1.ServiceSet)]
    if fmt in (Format.YAML, Format.JSON):
        output.dump(output.as_list(v1alpha1.ServiceSet, sets, page.revision), fmt)
    elif sets:
        output.table(columns.SERVICE_HEADERS, columns.service_rows(sets))
    else:
        where = f"cluster {cluster}" if cluster else f"namespace {namespace or 'any'}"
        typer.echo(f"No services on {where}.", err=True)


def _emit(
    obj: v1alpha1.Resource, *, fmt: Format | None, widths: list[int], row: columns.Row
) -> None:
    if fmt is Format.JSON:
        output.dump(obj.to_dict(), "json")
    elif fmt is Format.YAML:
        output.line("---")
        output.dump(obj.to_dict(), "yaml")
    else:
        output.line(output.format_row(widths, row(obj)))


def _follow(
    client: OrbitClient,
    cls: type[v1alpha1.Resource],
    *,
    namespace: str | None,
    selector: str | None,
    name: str | None,
    revision: str,
    timeout_seconds: int | None,
    emit: Callable[[v1alpha1.Resource], None],
) -> None:
    """Print every change after ``revision`` until the stream ends. When the server no longer
    holds that revision (410), resume from now: a watcher wants the present, not an error."""
    while True:
        try:
            for event in client.watch(
                cls,
                namespace=namespace,
                selector=selector,
                resource_version=revision,
                timeout_seconds=timeout_seconds,
            ):
                revision = event.object.metadata.resource_version or revision
                if name is None or event.object.metadata.name == name:
                    emit(event.object)
            return
        except GoneError:
            revision = client.list(cls, namespace=namespace, limit=1).revision
