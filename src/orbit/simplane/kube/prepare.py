"""What the API server does to an object of a built-in kind before storing it: defaults,
derived fields and the checks that clients rely on (a Deployment's selector must match its
template, a CRD's name is ``<plural>.<group>``, a Secret's ``stringData`` becomes ``data``).

Everything else is stored as sent: the plane is schemaless beyond these few rules.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from orbit.simplane.kube import errors, quantity
from orbit.simplane.kube.errors import Cause
from orbit.simplane.kube.kinds import ResourceType

Check = Callable[[dict[str, Any], dict[str, Any] | None, str], list[Cause]]


def prepare(
    rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, *, now: str
) -> None:
    """Default and check ``obj`` (``old`` is the stored version, None on create), in place."""
    check = _CHECKS.get((rtype.group, rtype.kind))
    causes = check(obj, old, now) if check is not None else []
    if causes:
        name = obj["metadata"]["name"]
        raise errors.invalid(rtype.kind, name, causes, group=rtype.group)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _namespace(obj: dict[str, Any], old: dict[str, Any] | None, now: str) -> list[Cause]:
    meta = obj["metadata"]
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    _spec(obj).setdefault("finalizers", ["kubernetes"])
    phase = "Terminating" if meta.get("deletionTimestamp") else "Active"
    obj["status"] = {"phase": phase}
    return []


def _secret(obj: dict[str, Any], old: dict[str, Any] | None, now: str) -> list[Cause]:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = _map(obj.get("data"))
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    causes = []
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except ValueError:
            causes.append(Cause(f"data[{key}]", "Invalid value: illegal base64 data"))
    return causes


def _service(obj: dict[str, Any], old: dict[str, Any] | None, now: str) -> list[Cause]:
    spec = _spec(obj)
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        previous = ((old or {}).get("spec") or {}).get("clusterIP")
        if not spec.get("clusterIP"):
            spec["clusterIP"] = previous or _cluster_ip(obj)
        spec["clusterIPs"] = [spec["clusterIP"]]
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
    return []


def _cluster_ip(obj: dict[str, Any]) -> str:
    digest = hashlib.sha256(obj["metadata"]["uid"].encode()).digest()
    return f"10.43.{digest[0]}.{max(digest[1], 2)}"


def _workload(replicas: bool) -> Check:
    def check(obj: dict[str, Any], old: dict[str, Any] | None, now: str) -> list[Cause]:
        spec = _spec(obj)
        if replicas:
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        causes = []
        selector = spec.get("selector")
        template = _map(spec.get("template"))
        template_labels = (template.get("metadata") or {}).get("labels") or {}
        if not isinstance(selector, dict) or not selector:
            causes.append(Cause("spec.selector", "Required value", "FieldValueRequired"))
        else:
            wanted = selector.get("matchLabels") or {}
            if any(template_labels.get(k) != v for k, v in wanted.items()):
                causes.append(
                    Cause(
                        "spec.template.metadata.labels",
                        f"Invalid value: {template_labels!r}: `selector` does not match "
                        "template `labels`",
                    )
                )
            before = ((old or {}).get("spec") or {}).get("selector")
            if old is not None and before != selector:
                causes.append(Cause("spec.selector", "Invalid value: field is immutable"))
        containers = (template.get("spec") or {}).get("containers")
        if not containers:
            causes.append(
                Cause("spec.template.spec.containers", "Required value", "FieldValueRequired")
            )
        causes += _quantities(containers, "spec.template.spec.containers")
        if not isinstance(spec.get("replicas", 0), int) or spec.get("replicas", 0) < 0:
            causes.append(
                Cause("spec.replicas", "Invalid value: must be greater than or equal to 0")
            )
        return causes

    return check


def _deployment(obj: dict[str, Any], old: dict[str, Any] | None, now: str) -> list[Cause]:
    spec = _spec(obj)
    spec.setdefault(
        "strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    )
    spec.setdefault("progressDeadlineSeconds", 600)
    return _workload(replicas=True)(obj, old, now)


def _pod(obj: dict[str, Any], old: dict[str, Any] | None, now: str) -> list[Cause]:
    containers = _spec(obj).get("containers")
    if not containers:
        return [Cause("spec.containers", "Required value", "FieldValueRequired")]
    return _quantities(containers, "spec.containers")


def _quantities(containers: Any, path: str) -> list[Cause]:
    """Requests and limits must be quantities: the scheduler adds them up."""
    causes = []
    for index, container in enumerate(containers if isinstance(containers, list) else []):
        resources = _map(_map(container).get("resources"))
        for part in ("requests", "limits"):
            for name, value in _map(resources.get(part)).items():
                try:
                    quantity.parse(value)
                except ValueError:
                    field = f"{path}[{index}].resources.{part}[{name}]"
                    message = f'Invalid value: "{value}": must be a quantity (like 100m or 1Gi)'
                    causes.append(Cause(field, message))
    return causes


def _crd(obj: dict[str, Any], old: dict[str, Any] | None, now: str) -> list[Cause]:
    spec = _spec(obj)
    names = _map(spec.get("names"))
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    causes = []
    for path, value in (("spec.group", group), ("spec.names.plural", plural)):
        if not value:
            causes.append(Cause(path, "Required value", "FieldValueRequired"))
    if not kind:
        causes.append(Cause("spec.names.kind", "Required value", "FieldValueRequired"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            Cause("spec.scope", 'Unsupported value: supported values: "Cluster", "Namespaced"')
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(
            Cause(
                "spec.versions",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
        versions = []
    name = obj["metadata"]["name"]
    if group and plural and name != f"{plural}.{group}":
        causes.append(
            Cause(
                "metadata.name",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    if causes:
        return causes
    names.setdefault("singular", str(kind).lower())
    names.setdefault("listKind", f"{kind}List")
    storage = [v.get("name") for v in versions if isinstance(v, dict) and v.get("storage")]
    accepted = dict(names)
    obj["status"] = {
        "acceptedNames": accepted,
        "conditions": [
            _condition("NamesAccepted", "NoConflicts", "no conflicts found", now),
            _condition(
                "Established", "InitialNamesAccepted", "the initial names have been accepted", now
            ),
        ],
        "storedVersions": storage or [versions[0].get("name")],
    }
    return []


def _condition(kind: str, reason: str, message: str, now: str) -> dict[str, str]:
    return {
        "type": kind,
        "status": "True",
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


_CHECKS: dict[tuple[str, str], Check] = {
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "Service"): _service,
    ("", "Pod"): _pod,
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _workload(replicas=True),
    ("apps", "DaemonSet"): _workload(replicas=False),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}
