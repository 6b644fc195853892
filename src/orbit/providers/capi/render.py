"""Rendering a DesiredCluster into the Cluster API objects that build it.

Pure: settings in, manifests out, no I/O. For one cluster, in apply order (referenced objects
before the objects that reference them):

- the infrastructure cluster (the credential's ``clusterKind``: ``AWSCluster``...)
- the machine templates (``machineTemplateKind``): one for the control plane (K3s only: a
  k0smotron control plane runs as pods in the management cluster) and one for the workers
- the workers' bootstrap config template (``KThreesConfigTemplate`` / ``K0sWorkerConfigTemplate``)
- the control plane (``KThreesControlPlane`` / ``K0smotronControlPlane``)
- the ``Cluster`` (``cluster.x-k8s.io/v1beta1``) and the workers' ``MachineDeployment``

Names derive from the cluster's name and a hash of its uid (``alpha-1a2b3c4d``), so they are
unique per uid and stable across calls. Machine and bootstrap templates are immutable in Cluster
API, so their names end with a hash of their content: a changed machine size renders a new
template and the reference moves to it (CAPI then rolls the machines); scaling and upgrading
only change ``replicas`` and ``version`` fields of objects that stay. Every object carries the
``orbit.k8or.io/uid`` label (and ``cluster.x-k8s.io/cluster-name``), which is how they are
found again. Bootstrap templates leave ``version`` unset: both bootstrap providers take the
Machine's version, so an upgrade changes nothing but the versions named below.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orbit.providers.base import SPEC_PATH, ClusterRef, DesiredCluster, ProviderPermanentError
from orbit.providers.capi import settings
from orbit.providers.capi.settings import K0SMOTRON, K3S

CLUSTER_API = "cluster.x-k8s.io/v1beta1"
SECRET_API = "v1"
DEFAULT_CONTROL_PLANE_VERSIONS = {
    K3S: "controlplane.cluster.x-k8s.io/v1beta2",
    K0SMOTRON: "controlplane.cluster.x-k8s.io/v1beta1",
}
BOOTSTRAP_TEMPLATES = {
    K3S: ("bootstrap.cluster.x-k8s.io/v1beta2", "KThreesConfigTemplate"),
    K0SMOTRON: ("bootstrap.cluster.x-k8s.io/v1beta1", "K0sWorkerConfigTemplate"),
}

LABEL_UID = "orbit.k8or.io/uid"
LABEL_CLUSTER = "orbit.k8or.io/cluster"
LABEL_NAMESPACE = "orbit.k8or.io/namespace"
LABEL_ROLE = "orbit.k8or.io/role"
LABEL_SIZE = "orbit.k8or.io/machine-size"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
CAPI_CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"
CAPI_CONTROL_PLANE = "cluster.x-k8s.io/control-plane"
CAPI_DEPLOYMENT_NAME = "cluster.x-k8s.io/deployment-name"

ROLE_CONTROL_PLANE = "control-plane"
ROLE_WORKER = "worker"

_NOT_DNS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Names:
    """The names of one cluster's objects (all in the credential's namespace)."""

    cluster: str

    @property
    def control_plane(self) -> str:
        return f"{self.cluster}-control-plane"

    @property
    def machine_deployment(self) -> str:
        return f"{self.cluster}-md-0"

    @property
    def kubeconfig_secret(self) -> str:
        """Cluster API's convention: ``<cluster>-kubeconfig``, the kubeconfig in key ``value``."""
        return f"{self.cluster}-kubeconfig"


def names(ref: ClusterRef) -> Names:
    """Names for ``ref``: its name (DNS-safe, at most 40 characters) and 8 hex of its uid's
    hash, short enough for the label values Cluster API derives from them (63 at most)."""
    base = _NOT_DNS.sub("-", ref.name.lower()).strip("-")[:40].strip("-") or "cluster"
    digest = hashlib.sha256(ref.uid.encode()).hexdigest()[:8]
    return Names(cluster=f"{base}-{digest}")


def identity_labels(ref: ClusterRef) -> dict[str, str]:
    """The labels that tie an object to one ClusterDeployment."""
    return {
        LABEL_UID: ref.uid,
        LABEL_CLUSTER: ref.name,
        LABEL_NAMESPACE: ref.namespace,
        LABEL_MANAGED_BY: "orbit",
        CAPI_CLUSTER_NAME: names(ref).cluster,
    }


@dataclass(frozen=True)
class Rendered:
    names: Names
    namespace: str
    control_plane_kind: str
    #: Every object, in apply order.
    objects: tuple[dict[str, Any], ...]

    def kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every object, plus the Machines observe reads."""
        seen = {(str(o["apiVersion"]), str(o["kind"])) for o in self.objects}
        return sorted(seen | {(CLUSTER_API, "Machine")})

    def templates(self) -> list[dict[str, Any]]:
        """The content-named templates (machine and bootstrap) of this rendering."""
        return [o for o in self.objects if LABEL_ROLE in o["metadata"]["labels"]]


def render(
    cluster: DesiredCluster,
    config: settings.CredentialConfig,
    spec: settings.ProviderSpec,
    *,
    worker_version: str | None = None,
) -> Rendered:
    """The objects for ``cluster``. ``worker_version`` holds the workers back at a version
    (the control plane goes first in an upgrade)."""
    ref, infra, ns = cluster.ref, config.infrastructure, config.namespace
    n = names(ref)
    labels = identity_labels(ref)
    cp_kind = spec.control_plane.kind
    cp_api = spec.control_plane.api_version or DEFAULT_CONTROL_PLANE_VERSIONS[cp_kind]
    objects: list[dict[str, Any]] = []

    infra_spec = _merge(spec.infrastructure.cluster, {})
    if infra.identity_ref is not None:
        infra_spec["identityRef"] = infra.identity_ref.model_dump()
    objects.append(
        _object(infra.api_version, infra.cluster_kind, n.cluster, ns, labels, infra_spec)
    )

    cp_spec: dict[str, Any] = _merge(spec.control_plane.spec, {})
    cp_spec["replicas"] = cluster.control_plane.count
    cp_spec["version"] = cluster.kubernetes_version
    cp_labels = {**labels, LABEL_SIZE: cluster.control_plane.machine_size}
    if cp_kind == K3S:
        template = _machine_template(
            cluster, config, spec, role=ROLE_CONTROL_PLANE, prefix=f"{n.cluster}-cp"
        )
        objects.append(template)
        cp_spec["machineTemplate"] = {
            "metadata": {"labels": {**cp_labels, LABEL_ROLE: ROLE_CONTROL_PLANE}},
            "infrastructureRef": _ref(template),
        }

    boot_api, boot_kind = BOOTSTRAP_TEMPLATES[cp_kind]
    boot_body = {"template": {"spec": _merge(spec.bootstrap.spec, {})}}
    bootstrap = _object(
        boot_api,
        boot_kind,
        _content_name(f"{n.machine_deployment}", boot_kind, boot_body),
        ns,
        {**labels, LABEL_ROLE: ROLE_WORKER},
        boot_body,
    )
    objects.append(bootstrap)
    worker_template = _machine_template(
        cluster, config, spec, role=ROLE_WORKER, prefix=n.machine_deployment
    )
    objects.append(worker_template)

    objects.append(_object(cp_api, cp_kind, n.control_plane, ns, cp_labels, cp_spec))

    cluster_spec: dict[str, Any] = {
        "controlPlaneRef": {"apiVersion": cp_api, "kind": cp_kind, "name": n.control_plane},
        "infrastructureRef": {
            "apiVersion": infra.api_version,
            "kind": infra.cluster_kind,
            "name": n.cluster,
        },
    }
    if spec.cluster_network is not None:
        cluster_spec["clusterNetwork"] = spec.cluster_network
    cluster_labels = {**cluster.labels, **labels}
    objects.append(_object(CLUSTER_API, "Cluster", n.cluster, ns, cluster_labels, cluster_spec))

    selector = {CAPI_CLUSTER_NAME: n.cluster, CAPI_DEPLOYMENT_NAME: n.machine_deployment}
    machine_labels = {**labels, **selector, LABEL_SIZE: cluster.workers.machine_size}
    md_spec = {
        "clusterName": n.cluster,
        "replicas": cluster.workers.count,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": machine_labels},
            "spec": {
                "clusterName": n.cluster,
                "version": worker_version or cluster.kubernetes_version,
                "bootstrap": {"configRef": _ref(bootstrap)},
                "infrastructureRef": _ref(worker_template),
            },
        },
    }
    objects.append(
        _object(CLUSTER_API, "MachineDeployment", n.machine_deployment, ns, labels, md_spec)
    )
    return Rendered(names=n, namespace=ns, control_plane_kind=cp_kind, objects=tuple(objects))


def _machine_template(
    cluster: DesiredCluster,
    config: settings.CredentialConfig,
    spec: settings.ProviderSpec,
    *,
    role: str,
    prefix: str,
) -> dict[str, Any]:
    infra = spec.infrastructure
    group = cluster.control_plane if role == ROLE_CONTROL_PLANE else cluster.workers
    sized = _merge(infra.machine, _size(infra.machine_sizes, group.machine_size))
    own = infra.control_plane_machine if role == ROLE_CONTROL_PLANE else infra.worker_machine
    body = {"template": {"spec": _merge(sized, own)}}
    kind = config.infrastructure.machine_template_kind
    labels = {
        **identity_labels(cluster.ref),
        LABEL_ROLE: role,
        LABEL_SIZE: group.machine_size,
    }
    name = _content_name(prefix, kind, body)
    return _object(config.infrastructure.api_version, kind, name, config.namespace, labels, body)


def _size(sizes: Mapping[str, dict[str, Any]], size: str) -> dict[str, Any]:
    """The fields of machine size ``size``; any size goes when the template maps none."""
    if not sizes:
        return {}
    if size not in sizes:
        known = ", ".join(sorted(sizes))
        raise ProviderPermanentError(
            f"{SPEC_PATH}.infrastructure.machineSizes: no entry for machine size "
            f'"{size}" (it has: {known})'
        )
    return sizes[size]


def _content_name(prefix: str, kind: str, body: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps([kind, body], sort_keys=True).encode()).hexdigest()
    return f"{prefix}-{digest[:8]}"


def _object(
    api_version: str,
    kind: str,
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
    }
    if spec:  # an applied empty spec would claim the fields other controllers write there
        obj["spec"] = dict(spec)
    return obj


def _ref(obj: Mapping[str, Any]) -> dict[str, str]:
    return {
        "apiVersion": str(obj["apiVersion"]),
        "kind": str(obj["kind"]),
        "name": str(obj["metadata"]["name"]),
    }


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base``, mappings recursively (lists are replaced)."""
    merged: dict[str, Any] = json.loads(json.dumps(dict(base)))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = json.loads(json.dumps(value))
    return merged
