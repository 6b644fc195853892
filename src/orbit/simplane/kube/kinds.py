"""What a simulated cluster serves: the built-in resource types and those its CRDs add.

A :class:`ResourceType` is one row of a discovery document (group, version, kind, plural, short
names, scope, verbs). The built-in table lists what the issue asks for plus the kinds that
ordinary manifests and charts carry alongside them (RBAC, Ingress, Jobs, ...): every type is
stored schemaless, so a row here is all a kind needs. A CustomResourceDefinition adds one type
per served version; :class:`Catalog` is the built-ins plus one cluster's CRDs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

READ_VERBS = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CRD_GROUP = "apiextensions.k8s.io"


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    # The main resource ignores ``status`` on writes (it is served by the /status subresource).
    has_status: bool = False
    # Objects the simulation derives on read (pods of workloads, nodes): never stored by clients.
    derived: bool = False
    categories: tuple[str, ...] = ()
    printer_columns: tuple[dict[str, Any], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` as Kubernetes names a type in messages (``pods`` for core)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def writable(self) -> bool:
        return "create" in self.verbs


def _t(group: str, version: str, kind: str, plural: str, *short: str, **kw: Any) -> ResourceType:
    return ResourceType(group, version, kind, plural, kw.pop("namespaced", True), short, **kw)


BUILTINS: tuple[ResourceType, ...] = (
    _t("", "v1", "Namespace", "namespaces", "ns", namespaced=False, has_status=True),
    _t("", "v1", "Node", "nodes", "no", namespaced=False, verbs=READ_VERBS, derived=True),
    _t("", "v1", "Pod", "pods", "po", has_status=True, categories=("all",)),
    _t("", "v1", "ConfigMap", "configmaps", "cm"),
    _t("", "v1", "Secret", "secrets"),
    _t("", "v1", "Service", "services", "svc", has_status=True, categories=("all",)),
    _t("", "v1", "ServiceAccount", "serviceaccounts", "sa"),
    _t("", "v1", "Event", "events", "ev"),
    _t("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "pvc", has_status=True),
    _t("", "v1", "PersistentVolume", "persistentvolumes", "pv", namespaced=False),
    _t("", "v1", "Endpoints", "endpoints", "ep"),
    _t("", "v1", "LimitRange", "limitranges", "limits"),
    _t("", "v1", "ResourceQuota", "resourcequotas", "quota", has_status=True),
    _t("apps", "v1", "Deployment", "deployments", "deploy", has_status=True, categories=("all",)),
    _t("apps", "v1", "StatefulSet", "statefulsets", "sts", has_status=True, categories=("all",)),
    _t("apps", "v1", "DaemonSet", "daemonsets", "ds", has_status=True, categories=("all",)),
    _t(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "rs",
        verbs=READ_VERBS,
        derived=True,
        has_status=True,
        categories=("all",),
    ),
    _t("batch", "v1", "Job", "jobs", has_status=True, categories=("all",)),
    _t("batch", "v1", "CronJob", "cronjobs", "cj", has_status=True, categories=("all",)),
    _t("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "hpa"),
    _t("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "pdb", has_status=True),
    _t("networking.k8s.io", "v1", "Ingress", "ingresses", "ing", has_status=True),
    _t("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "netpol"),
    _t("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False),
    _t("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _t("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _t("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _t(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    _t("storage.k8s.io", "v1", "StorageClass", "storageclasses", "sc", namespaced=False),
    _t(
        CRD_GROUP,
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "crd",
        "crds",
        namespaced=False,
        has_status=True,
    ),
)

# Built-in groups in the order discovery lists them (core first, as Kubernetes does).
GROUP_ORDER: tuple[str, ...] = tuple(dict.fromkeys(t.group for t in BUILTINS))


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key: GA before beta before alpha, higher numbers first, odd names last."""
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The types a CRD serves (one per served version); empty if it is malformed."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, kind, plural = spec.get("group"), names.get("kind"), names.get("plural")
    if not (isinstance(group, str) and isinstance(kind, str) and isinstance(plural, str)):
        return []
    types = []
    for version in spec.get("versions") or []:
        if not isinstance(version, dict) or not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        types.append(
            ResourceType(
                group=group,
                version=str(version.get("name")),
                kind=kind,
                plural=plural,
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                has_status="status" in subresources,
                categories=tuple(names.get("categories") or ()),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            )
        )
    return types


class Catalog:
    """The types one cluster serves: built-ins first, then its CRDs' (built-ins win a clash)."""

    def __init__(self, crds: Iterable[dict[str, Any]] = ()) -> None:
        self._types: list[ResourceType] = list(BUILTINS)
        taken = {(t.group, t.plural) for t in BUILTINS}
        for crd in crds:
            if (crd.get("metadata") or {}).get("deletionTimestamp"):
                continue
            for rtype in from_crd(crd):
                if (rtype.group, rtype.plural) not in taken:
                    self._types.append(rtype)
        self._by_path = {(t.group, t.version, t.plural): t for t in self._types}

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._types)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions, preferred first (Kubernetes' version priority)."""
        result: dict[str, list[str]] = {}
        for rtype in self._types:
            versions = result.setdefault(rtype.group, [])
            if rtype.version not in versions:
                versions.append(rtype.version)
        return {group: sorted(versions, key=version_priority) for group, versions in result.items()}

    def in_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self._types if t.group == group and t.version == version]
