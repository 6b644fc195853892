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


def _service_template(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.ServiceTemplate)
    spec = obj.spec
    source = "resources" if spec.resources is not None else "git" if spec.git else "helm"
    valid = "Unknown" if obj.status.valid is None else str(obj.status.valid)
    return [
        obj.metadata.name,
        spec.version,
        source,
        valid,
        output.age(obj.metadata.creation_timestamp),
    ]


def serviceset_owner(obj: v1alpha1.ServiceSet) -> str:
    owner = obj.spec.owner
    return "cluster" if owner.kind == "ClusterDeployment" else f"mcs/{owner.name}"


def _serviceset(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.ServiceSet)
    states = [s.state.value for s in obj.status.services]
    deployed = states.count("Deployed")
    return [
        obj.metadata.name,
        obj.spec.cluster,
        serviceset_owner(obj),
        f"{deployed}/{len(obj.spec.services)}",
        output.age(obj.metadata.creation_timestamp),
    ]


def _mcs(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.MultiClusterService)
    rollout = obj.status.rollout
    state = rollout.state + (f" ({rollout.wave})" if rollout.wave else "")
    return [
        obj.metadata.name,
        str(obj.status.matching_clusters),
        obj.status.summary or "-",
        state,
        str(rollout.revision),
        output.age(obj.metadata.creation_timestamp),
    ]


def service_rows(sets: Sequence[v1alpha1.ServiceSet]) -> list[list[str]]:
    """One row per service of the given ServiceSets, for ``orbit get services``."""
    rows = []
    for sset in sorted(sets, key=lambda s: (s.spec.cluster, s.metadata.name)):
        observed = {s.name: s for s in sset.status.services}
        for svc in sset.spec.services:
            st = observed.get(svc.name)
            rows.append(
                [
                    sset.spec.cluster,
                    svc.name,
                    svc.template,
                    svc.namespace,
                    st.state.value if st else "Pending",
                    (st.reason or st.message) if st else "",
                    svc.sync_mode.value,
                    serviceset_owner(sset),
                ]
            )
    return rows


SERVICE_HEADERS = [
    "CLUSTER",
    "SERVICE",
    "TEMPLATE",
    "NAMESPACE",
    "STATE",
    "REASON",
    "SYNC",
    "OWNER",
]


def _subjects(subjects: Sequence[v1alpha1.Subject]) -> str:
    return ",".join(f"{s.kind}/{s.name}" for s in subjects) or "-"


def _user(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.User)
    spec = obj.spec
    return [
        obj.metadata.name,
        spec.display_name or "-",
        ",".join(spec.groups) or "-",
        "yes" if spec.disabled else "no",
        output.age(obj.metadata.creation_timestamp),
    ]


def _binding(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.RoleBinding | v1alpha1.ClusterRoleBinding)
    return [
        obj.metadata.name,
        obj.spec.role,
        _subjects(obj.spec.subjects),
        output.age(obj.metadata.creation_timestamp),
    ]


def _access_rule(obj: Any) -> list[str]:
    assert isinstance(obj, v1alpha1.AccessRule)
    spec = obj.spec
    targets = list(spec.target_namespaces.names)
    if spec.target_namespaces.selector is not None:
        targets.append("selector")
    return [
        obj.metadata.name,
        ",".join(targets) or "-",
        ",".join(spec.cluster_templates) or "-",
        ",".join(spec.service_templates) or "-",
        ",".join(spec.credentials) or "-",
    ]


def _webhook(obj: Any, *, wide: bool = False) -> list[str]:
    assert isinstance(obj, v1alpha1.Webhook)
    status = obj.status or v1alpha1.WebhookStatus()
    ready = v1alpha1.get_condition(status.conditions, "Ready")
    state = "Paused" if obj.spec.paused else (ready.reason if ready else "Pending")
    return [
        obj.metadata.name,
        obj.spec.url,
        state,
        str(status.pending),
        str(status.consecutive_failures),
        output.age(status.last_delivered_time),
        *([status.last_error or "-"] if wide else []),
    ]


def _gitrepository(obj: Any, *, wide: bool = False) -> list[str]:
    assert isinstance(obj, v1alpha1.GitRepository)
    status = obj.status or v1alpha1.GitRepositoryStatus()
    ready = v1alpha1.get_condition(status.conditions, "Ready")
    written = v1alpha1.get_condition(status.conditions, "WrittenBack")
    state = "Suspended" if obj.spec.suspend else (ready.reason if ready else "Pending")
    return [
        obj.metadata.name,
        obj.spec.url,
        obj.spec.branch,
        state,
        (status.last_synced_commit or "-")[:12],
        str(len(status.inventory)),
        output.age(status.last_sync_time),
        *([written.reason if written else "-", ready.message if ready else "-"] if wide else []),
    ]


def _namespace(obj: Any) -> list[str]:
    return [obj.metadata.name, output.age(obj.metadata.creation_timestamp)]


_HEADERS: dict[str, list[str]] = {
    "ClusterDeployment": ["NAME", "TEMPLATE", "PHASE", "NODES", "VERSION", "AGE", "EXPIRES"],
    "ClusterTemplate": ["NAME", "PROVIDER", "VERSION", "KUBERNETES", "UPGRADES-TO"],
    "Credential": ["NAME", "PROVIDER", "READY"],
    "Event": ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    "Namespace": ["NAME", "AGE"],
    "ServiceTemplate": ["NAME", "VERSION", "SOURCE", "VALID", "AGE"],
    "ServiceSet": ["NAME", "CLUSTER", "OWNER", "DEPLOYED", "AGE"],
    "MultiClusterService": ["NAME", "CLUSTERS", "SUMMARY", "ROLLOUT", "REVISION", "AGE"],
    "User": ["NAME", "DISPLAY NAME", "GROUPS", "DISABLED", "AGE"],
    "RoleBinding": ["NAME", "ROLE", "SUBJECTS", "AGE"],
    "ClusterRoleBinding": ["NAME", "ROLE", "SUBJECTS", "AGE"],
    "AccessRule": ["NAME", "NAMESPACES", "CLUSTER TEMPLATES", "SERVICE TEMPLATES", "CREDENTIALS"],
    "Webhook": ["NAME", "URL", "STATE", "PENDING", "FAILURES", "LAST DELIVERY"],
    "GitRepository": ["NAME", "URL", "BRANCH", "STATE", "COMMIT", "OBJECTS", "LAST SYNC"],
}
_WIDE = {
    "ClusterDeployment": ["CREDENTIAL", "ENDPOINT", "MESSAGE"],
    "Webhook": ["LAST ERROR"],
    "GitRepository": ["WRITE-BACK", "MESSAGE"],
}


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
        case "ServiceTemplate":
            base = _service_template
        case "ServiceSet":
            base = _serviceset
        case "MultiClusterService":
            base = _mcs
        case "User":
            base = _user
        case "RoleBinding" | "ClusterRoleBinding":
            base = _binding
        case "AccessRule":
            base = _access_rule
        case "Webhook":
            base = lambda obj: _webhook(obj, wide=wide)  # noqa: E731
        case "GitRepository":
            base = lambda obj: _gitrepository(obj, wide=wide)  # noqa: E731
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
