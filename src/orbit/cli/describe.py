"""``orbit describe KIND NAME``: one object for a person to read, with its Events.

Clusters get their status laid out (phase, nodes, versions, upgrades, expiry) and the
conditions and nodes as tables; other kinds show their body and status as YAML.
"""

from __future__ import annotations

from typing import Any

import typer

from orbit.api import v1alpha1
from orbit.cli import columns, context, output
from orbit.client import OrbitClient

_WIDTH = 24


def describe(
    ctx: typer.Context,
    kind: context.KindArg,
    name: context.NameArg,
    namespace: context.NamespaceOpt = "default",
) -> None:
    """Show one object in detail, with its Events."""
    cls = context.resolve_kind(kind)
    client = context.client(ctx)
    obj = client.get(cls, name, namespace=namespace)
    _metadata(obj)
    if isinstance(obj, v1alpha1.ClusterDeployment):
        _cluster(obj)
        _cluster_services(client, obj)
    elif isinstance(obj, v1alpha1.MultiClusterService):
        _mcs(obj)
    else:
        _generic(obj)
    _events(client, obj)


def _field(label: str, value: Any, *, indent: int = 0) -> None:
    output.line(f"{' ' * indent}{label + ':':<{_WIDTH - indent}}{value}")


def _block(label: str, data: Any, *, indent: int = 0) -> None:
    output.line(f"{' ' * indent}{label}:")
    text = output.to_yaml(data).rstrip("\n")
    for text_line in text.splitlines():
        output.line(f"{' ' * (indent + 2)}{text_line}")


def _pairs(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "<none>"


def _metadata(obj: v1alpha1.Resource) -> None:
    meta = obj.metadata
    _field("Name", meta.name)
    if obj.NAMESPACED:
        _field("Namespace", meta.namespace or "")
    _field("Kind", obj.KIND)
    _field("Labels", _pairs(meta.labels))
    _field("Annotations", _pairs(meta.annotations))
    created = meta.creation_timestamp
    _field("Created", f"{output.stamp(created)} ({output.age(created)} ago)" if created else "-")
    if meta.deletion_timestamp is not None:
        _field("Deleting since", output.stamp(meta.deletion_timestamp))
    if meta.finalizers:
        _field("Finalizers", ", ".join(meta.finalizers))
    _field("UID", meta.uid or "-")
    _field("Generation", meta.generation if meta.generation is not None else "-")
    _field("Resource version", meta.resource_version or "-")


def _generic(obj: v1alpha1.Resource) -> None:
    body = obj.to_dict()
    owned = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    if set(owned) == {"spec"}:
        _block("Spec", owned["spec"])
    elif owned:
        _block("Fields", owned)
    if body.get("status"):
        _block("Status", body["status"])


def _cluster(obj: v1alpha1.ClusterDeployment) -> None:
    _block("Spec", obj.to_dict()["spec"])
    status = obj.status
    nodes = status.nodes
    versions = ", ".join(f"{v} ({n})" for v, n in sorted(nodes.versions.items()))
    expiry = columns.cluster_expiry(obj)
    output.line("Status:")
    _field("Phase", columns.cluster_phase(obj), indent=2)
    if status.message:
        _field("Message", status.message, indent=2)
    _field("Template", status.template or "-", indent=2)
    _field("Kubernetes version", status.kubernetes_version or "-", indent=2)
    _field(
        "Nodes",
        f"{nodes.ready}/{nodes.total} ready" + (f" ({versions})" if versions else ""),
        indent=2,
    )
    _field("Endpoint", status.endpoint or "-", indent=2)
    _field("Upgrades available", ", ".join(status.available_upgrades) or "<none>", indent=2)
    expires = f"{output.stamp(expiry)} ({output.until(expiry)})" if expiry else "never"
    _field("Expires", expires, indent=2)
    observed = status.observed_generation
    _field("Observed generation", "-" if observed is None else observed, indent=2)
    output.line("Conditions:")
    if status.conditions:
        output.table(
            ["TYPE", "STATUS", "REASON", "MESSAGE", "AGE"],
            [
                [c.type, c.status, c.reason or "-", c.message, output.age(c.last_transition_time)]
                for c in status.conditions
            ],
            indent=2,
        )
    else:
        output.line("  <none>")
    output.line("Nodes:")
    if nodes.items:
        output.table(
            ["NAME", "ROLE", "VERSION", "READY", "SIZE"],
            [
                [n.name, n.role, n.kubernetes_version, str(n.ready), n.machine_size or "-"]
                for n in nodes.items
            ],
            indent=2,
        )
    else:
        output.line("  <none>")


def _cluster_services(client: OrbitClient, obj: v1alpha1.ClusterDeployment) -> None:
    selector = f"{v1alpha1.LABEL_CLUSTER}={obj.metadata.name}"
    page = client.list_all(v1alpha1.ServiceSet, namespace=obj.metadata.namespace, selector=selector)
    sets = [s for s in page.items if isinstance(s, v1alpha1.ServiceSet)]
    output.line("Services:")
    rows = [row[1:] for row in columns.service_rows(sets)]
    if rows:
        output.table(columns.SERVICE_HEADERS[1:], rows, indent=2)
    else:
        output.line("  <none>")


def _mcs(obj: v1alpha1.MultiClusterService) -> None:
    _block("Spec", obj.to_dict()["spec"])
    status, rollout = obj.status, obj.status.rollout
    output.line("Status:")
    _field("Summary", status.summary or "-", indent=2)
    _field("Matching clusters", status.matching_clusters, indent=2)
    _field("Rollout", rollout.state, indent=2)
    _field("Revision", f"{rollout.revision} (stable: {rollout.stable_revision})", indent=2)
    _field("Wave in progress", rollout.wave or "-", indent=2)
    if rollout.failed_wave:
        _field("Failed wave", rollout.failed_wave, indent=2)
    _field("Message", rollout.message or "-", indent=2)
    output.line("Clusters:")
    if status.clusters:
        output.table(
            ["CLUSTER", "WAVE", "REVISION", "STATE", "REASON"],
            [
                [c.name, c.wave or "-", str(c.revision), c.state, c.reason or ""]
                for c in status.clusters
            ],
            indent=2,
        )
    else:
        output.line("  <none>")


def _events(client: OrbitClient, obj: v1alpha1.Resource) -> None:
    """The Events whose involvedObject is this object (this incarnation, when uids are known)."""
    meta = obj.metadata
    namespace = meta.namespace if obj.NAMESPACED else None
    events = [
        ev
        for ev in client.iter_all(v1alpha1.Event, namespace=namespace)
        if isinstance(ev, v1alpha1.Event)
        and ev.involved_object.kind == obj.KIND
        and ev.involved_object.name == meta.name
        and (not obj.NAMESPACED or ev.involved_object.namespace in (None, meta.namespace))
        and ev.involved_object.uid in (None, meta.uid)
    ]
    output.line("Events:")
    if not events:
        output.line("  <none>")
        return
    output.table(["LAST SEEN", "TYPE", "REASON", "MESSAGE"], columns.event_rows(events), indent=2)
