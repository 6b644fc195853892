"""``orbit kubeconfig CLUSTER``: a kubeconfig for a cluster's Kubernetes API, to use with
kubectl or any Kubernetes client (``orbit kubeconfig demo > demo.yaml; kubectl --kubeconfig
demo.yaml get nodes``)."""

from __future__ import annotations

from typing import Annotated

import typer

from orbit.cli import context


def kubeconfig(
    ctx: typer.Context,
    cluster: Annotated[str, typer.Argument(metavar="CLUSTER", help="Name of the cluster.")],
    namespace: context.NamespaceOpt = "default",
) -> None:
    """Print a kubeconfig for a cluster's Kubernetes API."""
    typer.echo(context.client(ctx).kubeconfig(cluster, namespace=namespace), nl=False)
