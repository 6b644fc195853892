"""The cluster verbs: ``orbit create cluster``, ``orbit scale cluster``, ``orbit upgrade cluster``.

Each sends one request the API defines (create; merge patch of ``spec.config.workers``; merge
patch of ``spec.template``) and, with ``--wait``, follows the cluster until it settles. Values
are sent as the user typed them and the server validates: its 422 names the field to fix.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer
import yaml

from orbit import errors
from orbit.api import v1alpha1
from orbit.cli import context, output, wait
from orbit.cli.context import CliError
from orbit.client import OrbitClient

create_app = typer.Typer(help="Create an object from options.", no_args_is_help=True)
scale_app = typer.Typer(help="Change the size of a cluster.", no_args_is_help=True)
upgrade_app = typer.Typer(help="Move a cluster to another template.", no_args_is_help=True)

WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Wait until the cluster is Ready (exit 1 if it fails).")
]
TimeoutOpt = Annotated[str, typer.Option("--timeout", help="How long --wait waits (90s, 15m, 2h).")]
_ALIASES = ("clusterdeployment", "cd")


def parse_values(pairs: list[str]) -> dict[str, Any]:
    """``--set`` pairs into a nested dict: ``a.b=3`` -> ``{"a": {"b": 3}}``. Values are YAML
    scalars (``3`` is an int, ``true`` a bool); anything else stays the string typed."""
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--set")
        node = config
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise typer.BadParameter(f"{key!r} conflicts with {part!r}", param_hint="--set")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise typer.BadParameter(f"{key!r} conflicts with a nested key", param_hint="--set")
        node[parts[-1]] = _scalar(raw)
    return config


def _scalar(raw: str) -> Any:
    if raw == "":
        return ""
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    # Dates, lists and maps stay the string typed: JSON has no dates, and `a: b` as a value
    # is far more likely text than a nested object.
    return value if value is None or isinstance(value, bool | int | float | str) else raw


def parse_labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--label")
        labels[key] = value
    return labels


def default_credential(client: OrbitClient, template_name: str, *, namespace: str) -> str:
    """The only Credential in the namespace for the template's provider."""
    try:
        template = client.get(v1alpha1.ClusterTemplate, template_name, namespace=namespace)
    except errors.NotFound:
        names = [
            t.metadata.name for t in client.iter_all(v1alpha1.ClusterTemplate, namespace=namespace)
        ]
        raise CliError(
            f'ClusterTemplate "{template_name}" not found in namespace {namespace}; '
            f"available: {', '.join(names) or 'none'}"
        ) from None
    provider = template.spec.provider
    names = [
        cred.metadata.name
        for cred in client.iter_all(v1alpha1.Credential, namespace=namespace)
        if isinstance(cred, v1alpha1.Credential) and cred.spec.provider == provider
    ]
    if len(names) == 1:
        return names[0]
    if not names:
        raise CliError(
            f'no Credential for provider "{provider}" in namespace {namespace}: '
            "create one, or pass --credential"
        )
    raise CliError(
        f'several Credentials for provider "{provider}" in namespace {namespace} '
        f"({', '.join(names)}): choose one with --credential"
    )


@create_app.callback()
def _create() -> None:
    """Create an object from options."""


@create_app.command("cluster")
def create_cluster(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new cluster.")],
    template: Annotated[str, typer.Option("--template", "-t", help="ClusterTemplate to use.")],
    credential: Annotated[
        str | None,
        typer.Option(help="Credential (default: the only one for the template's provider)."),
    ] = None,
    values: Annotated[
        list[str] | None, typer.Option("--set", help="Template parameter, key=value (repeat).")
    ] = None,
    ttl: Annotated[str | None, typer.Option(help="Delete the cluster after this long.")] = None,
    labels: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Label, key=value (repeat).")
    ] = None,
    namespace: context.NamespaceOpt = "default",
    wait_: WaitOpt = False,
    timeout: TimeoutOpt = "15m",
) -> None:
    """Create a ClusterDeployment from a template."""
    config = parse_values(values or [])
    meta_labels = parse_labels(labels or [])
    if ttl is not None:
        context.duration(ttl, option="--ttl")
    limit = context.duration(timeout, option="--timeout")
    client = context.client(ctx)
    credential = credential or default_credential(client, template, namespace=namespace)
    spec: dict[str, Any] = {"template": template, "credential": credential, "config": config}
    if ttl is not None:
        spec["ttl"] = ttl
    manifest = {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": v1alpha1.ClusterDeployment.KIND,
        "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
        "spec": spec,
    }
    created = client.create_raw(v1alpha1.ClusterDeployment, manifest, namespace=namespace)
    output.line(f"{output.ref(created)} created")
    if wait_:
        _settle(client, name, namespace=namespace, limit=limit, timeout=timeout)


for _alias in _ALIASES:
    create_app.command(_alias, hidden=True)(create_cluster)


@scale_app.callback()
def _scale() -> None:
    """Change the size of a cluster."""


@scale_app.command("cluster")
def scale_cluster(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the cluster.")],
    workers: Annotated[int, typer.Option("--workers", min=0, help="Number of worker nodes.")],
    namespace: context.NamespaceOpt = "default",
    wait_: WaitOpt = False,
    timeout: TimeoutOpt = "15m",
) -> None:
    """Set the number of worker nodes of a cluster."""
    noun = "worker" if workers == 1 else "workers"
    _change(
        ctx,
        name,
        {"config": {"workers": workers}},
        f"scaled to {workers} {noun}",
        namespace=namespace,
        wait_=wait_,
        timeout=timeout,
    )


for _alias in _ALIASES:
    scale_app.command(_alias, hidden=True)(scale_cluster)


@upgrade_app.callback()
def _upgrade() -> None:
    """Move a cluster to another template."""


@upgrade_app.command("cluster")
def upgrade_cluster(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the cluster.")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="Template to move to (one of its upgradeTo).")
    ],
    namespace: context.NamespaceOpt = "default",
    wait_: WaitOpt = False,
    timeout: TimeoutOpt = "15m",
) -> None:
    """Upgrade a cluster to a template its current template allows."""
    _change(
        ctx,
        name,
        {"template": template},
        f"upgrading to {template}",
        namespace=namespace,
        wait_=wait_,
        timeout=timeout,
    )


def _change(
    ctx: typer.Context,
    name: str,
    spec: dict[str, Any],
    said: str,
    *,
    namespace: str,
    wait_: bool,
    timeout: str,
) -> None:
    """Merge-patch a cluster's spec, say what changed, and with --wait follow it to settled."""
    limit = context.duration(timeout, option="--timeout")
    client = context.client(ctx)
    obj = client.patch(v1alpha1.ClusterDeployment, name, {"spec": spec}, namespace=namespace)
    output.line(f"{output.ref(obj)} {said}")
    if wait_:
        _settle(client, name, namespace=namespace, limit=limit, timeout=timeout)


for _alias in _ALIASES:
    upgrade_app.command(_alias, hidden=True)(upgrade_cluster)


def _settle(
    client: OrbitClient, name: str, *, namespace: str, limit: timedelta, timeout: str
) -> None:
    obj = wait.until_settled(client, name, namespace=namespace, timeout=limit, timeout_text=timeout)
    output.line(f"{output.ref(obj)} is Ready")
