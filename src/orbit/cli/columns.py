"""The table columns ``orbit get`` shows for each kind (the printer columns of a CRD).

One function per kind turns an object into the cells of its row; ``columns()`` picks the headers
and the row function for a kind and adds NAMESPACE (``-A``) and the wide columns (``-o wide``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from orbit.api import v1alpha1
from orbit.cli import output

Row = Callable[[v1alpha1.Resource], list[str]]


def cluster_phase(obj: v1alpha1.ClusterDeployment) -> str:
    if obj.metadata.deletion_timestamp is not None:
        return v1alpha1.Phase.DELETING.value
    return obj.status.phase.value


def cluster_expiry(obj: v1alpha1.ClusterDeployment) -> datetime | None:
    return obj.status.expires_at or obj.expiry()


def _cluster(obj: Any, *, wide: bool) -> list[str]:
    assert isinstance(obj, v1alpha1.ClusterDeployment)
    status = obj.status
    row = [
        obj.metadata.name,
        obj.spec.template,
        cluster_phase(obj),
        f"{status.nodes.ready}/{status.nodes.total}",
        status.kubernetes_version or "-",
        output.age(obj.metadata.creation_timestamp),
        output.until(cluster_expiry(obj)),
    ]
    if wide:
        row += [obj.spec.credential, status.endpoint or "-", status.message or ""]
    return row


def _template(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.ClusterTemplate)
    spec = obj.spec
    upgrades = ",".join(spec.upgrade_to) or "-"
    return [obj.metadata.name, spec.provider, spec.version, spec.kubernetes_version, upgrades]


def _credential(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.Credential)
    ready = None if obj.status is None else obj.status.ready
    return [obj.metadata.name, obj.spec.provider, "Unknown" if ready is None else str(ready)]


def event_time(obj: v1alpha1.Resource) -> datetime:
    """When an Event last happened, for sorting (Events missing every stamp sort first)."""
    assert isinstance(obj, v1alpha1.Event)
    return (
        obj.last_timestamp
        or obj.first_timestamp
        or obj.metadata.creation_timestamp
        or datetime.min.replace(tzinfo=UTC)
    )


def _event(obj: Any, *, with_object: bool = True) -> list[str]:
    assert isinstance(obj, v1alpha1.Event)
    seen = output.age(event_time(obj))
    if obj.count > 1:
        seen += f" (x{obj.count})"
    involved = obj.involved_object
    row = [seen, obj.type, obj.reason]
    if with_object:
        row.append(f"{involved.kind.lower()}/{involved.name}")
    return [*row, obj.message]


def _namespace(obj: Any) -> list[str]:
    return [obj.metadata.name, output.age(obj.metadata.creation_timestamp)]


_HEADERS: dict[str, list[str]] = {
    "ClusterDeployment": ["NAME", "TEMPLATE", "PHASE", "NODES", "VERSION", "AGE", "EXPIRES"],
    "ClusterTemplate": ["NAME", "PROVIDER", "VERSION", "KUBERNETES", "UPGRADES-TO"],
    "Credential": ["NAME", "PROVIDER", "READY"],
    "Event": ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    "Namespace": ["NAME", "AGE"],
}
_WIDE = {"ClusterDeployment": ["CREDENTIAL", "ENDPOINT", "MESSAGE"]}


def columns(
    cls: type[v1alpha1.Resource], *, wide: bool = False, all_namespaces: bool = False
) -> tuple[list[str], Row]:
    headers = list(_HEADERS.get(cls.KIND, ["NAME", "AGE"]))
    if wide:
        headers += _WIDE.get(cls.KIND, [])
    base: Row
    match cls.KIND:
        case "ClusterDeployment":
            base = lambda obj: _cluster(obj, wide=wide)  # noqa: E731
        case "ClusterTemplate":
            base = _template
        case "Credential":
            base = _credential
        case "Event":
            base = _event
        case _:
            base = _namespace
    if not (all_namespaces and cls.NAMESPACED):
        return headers, base
    return ["NAMESPACE", *headers], lambda obj: [obj.metadata.namespace or "", *base(obj)]


def sort_for_display(
    cls: type[v1alpha1.Resource], items: Sequence[v1alpha1.Resource]
) -> list[v1alpha1.Resource]:
    """Events in the order they happened; everything else as the server lists it."""
    if cls.KIND == "Event":
        return sorted(items, key=event_time)
    return list(items)


def event_rows(events: Sequence[v1alpha1.Resource]) -> list[list[str]]:
    """Rows of the Events section of ``describe`` (the object is implied)."""
    return [_event(ev, with_object=False) for ev in sorted(events, key=event_time)]
