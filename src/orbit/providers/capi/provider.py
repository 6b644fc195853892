"""The ``capi`` provider: clusters on any infrastructure, through a Cluster API management
cluster.

Each call opens a session with the management cluster named by the credential (its kubeconfig
is the credential's secret ``kubeconfig``), works in the credential's namespace, and keeps
nothing: the Cluster is found by its ``orbit.k8or.io/uid`` label, the rest through the
Cluster's references and Cluster API's ``cluster.x-k8s.io/cluster-name`` label.

- ``ensure_cluster`` checks that the management cluster serves every kind it renders (Cluster
  API, the control plane and bootstrap providers, the infrastructure), server-side applies
  the rendered objects (field manager ``orbit``), then observes. Scaling and upgrading are the
  same apply with other ``replicas`` and ``version`` values; Cluster API rolls the machines.
  In an upgrade the workers keep their version until the control plane has rolled out the new
  one (as Cluster API's topology controller orders it). Templates an earlier rendering named
  are deleted once the group that used them has rolled out.
- ``delete_cluster`` deletes the Cluster (Cluster API deletes what it owns and the machines)
  and reports what remains until the Cluster and its Machines are gone; then it deletes any
  object still labelled with the uid (a template Cluster API did not own).
- ``kubeconfig`` is Cluster API's ``<cluster>-kubeconfig`` Secret, key ``value``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers import kube
from orbit.providers.base import (
    ClusterRef,
    Deletion,
    DesiredCluster,
    Observation,
    ProviderPermanentError,
    ProviderTransientError,
    spec_causes,
)
from orbit.providers.capi import observe, render, settings

log = logging.getLogger("orbit.providers.capi")

FIELD_MANAGER = "orbit"
CLUSTER = (render.CLUSTER_API, "Cluster")
MACHINE = (render.CLUSTER_API, "Machine")
MACHINE_DEPLOYMENT = (render.CLUSTER_API, "MachineDeployment")

Obj = dict[str, Any]


class CapiProvider:
    """Provider ``capi``; see the module docstring."""

    name: str = settings.NAME

    def __init__(self, *, timeout: float = kube.DEFAULT_TIMEOUT) -> None:
        self._timeout = timeout

    def check_provider_spec(self, spec: Mapping[str, Any]) -> list[errors.Cause]:
        """Every field of a rendered providerSpec that would refuse to build (admission)."""
        return spec_causes(settings.ProviderSpec, spec)

    def check_credential_config(self, config: Mapping[str, Any]) -> list[errors.Cause]:
        """Every field of a Credential's ``spec.config`` that would refuse to build (admission)."""
        return spec_causes(settings.CredentialConfig, config, path="spec.config")

    # -- the contract -------------------------------------------------------------------------

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation:
        config = settings.credential_config(credential)
        spec = settings.provider_spec(cluster.provider_spec)
        wanted = render.render(cluster, config, spec)
        ns, n = config.namespace, wanted.names
        async with self._session(credential) as api:
            kinds = await _kinds(api, wanted.kinds(), credential)
            live = await _find_cluster(api, kinds, ns, cluster.ref)
            if live is not None and observe.deleting(live):
                raise ProviderTransientError(
                    f"Cluster {ns}/{n.cluster} is being deleted; it can be created again once "
                    "it is gone"
                )
            cp_kind = kinds[f"{_cp_api(spec)}/{spec.control_plane.kind}"]
            control_plane = await api.get(cp_kind, n.control_plane, ns)
            md = await api.get(kinds[_key(MACHINE_DEPLOYMENT)], n.machine_deployment, ns)
            held = _held_worker_version(cluster.kubernetes_version, control_plane, md)
            if held is not None:
                wanted = render.render(cluster, config, spec, worker_version=held)
            log.info(
                "Applying Cluster API objects for cluster %s/%s (uid %s) in %s",
                cluster.ref.namespace,
                cluster.ref.name,
                cluster.ref.uid,
                ns,
            )
            for obj in wanted.objects:
                kind = kinds[f"{obj['apiVersion']}/{obj['kind']}"]
                await api.apply(kind, obj, field_manager=FIELD_MANAGER)
            read = await _read(api, kinds, ns, cluster.ref)
            if read is None:  # applied a moment ago: only a concurrent delete removes it
                raise ProviderTransientError(f"Cluster {ns}/{n.cluster} vanished after apply")
            obs, live = read
            failure = observe.failure(live)
            if failure:
                raise ProviderPermanentError(f"Cluster {ns}/{n.cluster} failed: {failure}")
            await _collect_templates(api, kinds, wanted)
            return obs

    async def observe(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Observation | None:
        config = settings.credential_config(credential)
        async with self._session(credential) as api:
            kinds = await _kinds(api, [CLUSTER, MACHINE, MACHINE_DEPLOYMENT], credential)
            read = await _read(api, kinds, config.namespace, ref)
            return None if read is None else read[0]

    async def delete_cluster(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Deletion:
        config = settings.credential_config(credential)
        ns = config.namespace
        async with self._session(credential) as api:
            kinds = await _kinds(api, [CLUSTER, MACHINE], credential)
            live = await _find_cluster(api, kinds, ns, ref)
            cluster_name = render.names(ref).cluster
            machines = await api.list(
                kinds[_key(MACHINE)], ns, {render.CAPI_CLUSTER_NAME: cluster_name}
            )
            if live is not None:
                if not observe.deleting(live):
                    log.info("Deleting Cluster %s/%s (uid %s)", ns, cluster_name, ref.uid)
                    await api.delete(kinds[_key(CLUSTER)], cluster_name, ns)
                remaining = [f"Cluster/{cluster_name}"]
                remaining += [f"Machine/{m['metadata']['name']}" for m in machines]
                return Deletion(gone=False, remaining=tuple(remaining))
            if machines:
                names = [f"Machine/{m['metadata']['name']}" for m in machines]
                return Deletion(gone=False, remaining=tuple(names))
            left = await _leftovers(api, config, ref)
            for kind, obj in left:
                log.info("Deleting leftover %s %s/%s", kind.kind, ns, obj["metadata"]["name"])
                await api.delete(kind, str(obj["metadata"]["name"]), ns)
            still = await _leftovers(api, config, ref)
            return Deletion(
                gone=not still,
                remaining=tuple(f"{k.kind}/{o['metadata']['name']}" for k, o in still),
            )

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        """The workload cluster's kubeconfig; NotFound if there is no such cluster."""
        config = settings.credential_config(credential)
        ns = config.namespace
        async with self._session(credential) as api:
            kinds = await _kinds(api, [CLUSTER], credential)
            live = await _find_cluster(api, kinds, ns, ref)
            if live is None:
                raise errors.NotFound(
                    f"cluster {ref.namespace}/{ref.name} has no Cluster in {ns}",
                    kind="Cluster",
                    name=ref.name,
                )
            secret_name = f"{live['metadata']['name']}-kubeconfig"
            data = await api.get_secret(secret_name, ns)
        if data is None or not data.get("value"):
            raise ProviderTransientError(
                f"Secret {ns}/{secret_name} is not there yet: Cluster API writes it once the "
                "control plane is initialized"
            )
        try:
            return base64.b64decode(data["value"], validate=True)
        except (binascii.Error, ValueError):
            raise ProviderPermanentError(
                f"Secret {ns}/{secret_name}: key value is not base64"
            ) from None

    # -- helpers ------------------------------------------------------------------------------

    def _session(
        self, credential: v1alpha1.Credential
    ) -> contextlib.AbstractAsyncContextManager[kube.Session]:
        what = f'management cluster of credential "{credential.metadata.name}"'
        return kube.session(
            settings.management_kubeconfig(credential), what=what, request_timeout=self._timeout
        )


def _key(pair: tuple[str, str]) -> str:
    return f"{pair[0]}/{pair[1]}"


def _cp_api(spec: settings.ProviderSpec) -> str:
    cp = spec.control_plane
    return cp.api_version or render.DEFAULT_CONTROL_PLANE_VERSIONS[cp.kind]


async def _kinds(
    api: kube.Session, wanted: Sequence[tuple[str, str]], credential: v1alpha1.Credential
) -> dict[str, kube.Kind]:
    """The kinds, resolved; a clear ProviderPermanentError when Cluster API is missing."""
    found, missing = await api.served(wanted)
    if missing:
        raise ProviderPermanentError(
            f'the management cluster of credential "{credential.metadata.name}" does not serve '
            f"{', '.join(missing)}: install Cluster API and the providers the template uses "
            "there (for example: clusterctl init --bootstrap k3s --control-plane k3s "
            "--infrastructure docker), or fix the credential's config.infrastructure"
        )
    return found


async def _find_cluster(
    api: kube.Session, kinds: Mapping[str, kube.Kind], namespace: str, ref: ClusterRef
) -> Obj | None:
    found = await api.list(kinds[_key(CLUSTER)], namespace, {render.LABEL_UID: ref.uid})
    if not found:
        return None
    expected = render.names(ref).cluster
    for obj in found:
        if obj["metadata"]["name"] == expected:
            return obj
    return found[0]


async def _read(
    api: kube.Session, kinds: Mapping[str, kube.Kind], namespace: str, ref: ClusterRef
) -> tuple[Observation, Obj] | None:
    """What the management cluster shows of ``ref``, and its Cluster object."""
    cluster = await _find_cluster(api, kinds, namespace, ref)
    if cluster is None:
        return None
    name = str(cluster["metadata"]["name"])
    control_plane = None
    cp_ref = (cluster.get("spec") or {}).get("controlPlaneRef") or {}
    if cp_ref.get("kind") and cp_ref.get("apiVersion"):
        resolved, _ = await api.served([(str(cp_ref["apiVersion"]), str(cp_ref["kind"]))])
        cp_kind = resolved.get(f"{cp_ref['apiVersion']}/{cp_ref['kind']}")
        if cp_kind is not None:
            control_plane = await api.get(cp_kind, str(cp_ref["name"]), namespace)
    by_cluster = {render.CAPI_CLUSTER_NAME: name}
    deployments = await api.list(kinds[_key(MACHINE_DEPLOYMENT)], namespace, by_cluster)
    machines = await api.list(kinds[_key(MACHINE)], namespace, by_cluster)
    obs = observe.observation(
        ref,
        cluster=cluster,
        control_plane=control_plane,
        machine_deployment=deployments[0] if deployments else None,
        machines=machines,
    )
    return obs, cluster


def _held_worker_version(version: str, control_plane: Obj | None, md: Obj | None) -> str | None:
    """The version the workers keep while the control plane is not yet at ``version``."""
    if md is None or control_plane is None:
        return None
    current = ((md.get("spec") or {}).get("template") or {}).get("spec", {}).get("version")
    if not current or current == version:
        return None
    status = control_plane.get("status") or {}
    want = int((control_plane.get("spec") or {}).get("replicas") or 0)
    rolled = (
        status.get("version") == version
        and (control_plane.get("spec") or {}).get("version") == version
        and int(status.get("updatedReplicas") or 0) >= want
        and int(status.get("readyReplicas") or 0) >= want
    )
    return None if rolled else str(current)


async def _collect_templates(
    api: kube.Session, kinds: Mapping[str, kube.Kind], wanted: render.Rendered
) -> None:
    """Delete the templates of earlier renderings once their group has rolled out."""
    ns, n = wanted.namespace, wanted.names
    current = {(o["kind"], o["metadata"]["name"]) for o in wanted.templates()}
    owners = {
        render.ROLE_WORKER: (kinds[_key(MACHINE_DEPLOYMENT)], n.machine_deployment),
    }
    cp = next(o for o in wanted.objects if o["kind"] == wanted.control_plane_kind)
    owners[render.ROLE_CONTROL_PLANE] = (kinds[f"{cp['apiVersion']}/{cp['kind']}"], n.control_plane)
    rolled = {role: _rolled_out(await api.get(k, name, ns)) for role, (k, name) in owners.items()}
    template_kinds = {(o["apiVersion"], o["kind"]) for o in wanted.templates()}
    for api_version, kind_name in sorted(template_kinds):
        kind = kinds[f"{api_version}/{kind_name}"]
        labels = {render.LABEL_UID: wanted.objects[0]["metadata"]["labels"][render.LABEL_UID]}
        for obj in await api.list(kind, ns, labels):
            meta = obj["metadata"]
            role = (meta.get("labels") or {}).get(render.LABEL_ROLE)
            if (kind_name, meta["name"]) in current or not rolled.get(str(role)):
                continue
            log.info("Deleting %s %s/%s: no longer referenced", kind_name, ns, meta["name"])
            await api.delete(kind, str(meta["name"]), ns)


def _rolled_out(obj: Obj | None) -> bool:
    if obj is None:
        return False
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = int(spec.get("replicas") or 0)
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    return (
        observed >= generation
        and int(status.get("replicas") or 0) == want
        and int(status.get("updatedReplicas") or 0) == want
        and int(status.get("readyReplicas") or 0) == want
    )


async def _leftovers(
    api: kube.Session, config: settings.CredentialConfig, ref: ClusterRef
) -> list[tuple[kube.Kind, Obj]]:
    """Objects still labelled with ``ref``'s uid, of every kind this provider renders."""
    infra = config.infrastructure
    candidates = [
        MACHINE_DEPLOYMENT,
        (infra.api_version, infra.cluster_kind),
        (infra.api_version, infra.machine_template_kind),
        *((v, k) for k, v in render.DEFAULT_CONTROL_PLANE_VERSIONS.items()),
        *render.BOOTSTRAP_TEMPLATES.values(),
    ]
    served, _ = await api.served(candidates)  # a kind not installed has nothing left
    found: list[tuple[kube.Kind, Obj]] = []
    for kind in served.values():
        for obj in await api.list(kind, config.namespace, {render.LABEL_UID: ref.uid}):
            found.append((kind, obj))
    return found
