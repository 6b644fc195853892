"""``GET .../clusterdeployments/{name}/kubeconfig``: a kubeconfig for a cluster's Kubernetes
API, as its provider issues it. (The identity work replaces it with an AccessPoint kubeconfig
carrying the caller's own token; until then this hands out the cluster's credential.)"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from orbit import errors
from orbit.api import v1alpha1
from orbit.providers.base import ClusterRef
from orbit.providers.registry import ProviderRegistry
from orbit.server.deps import StoreDep
from orbit.server.paths import PREFIX

router = APIRouter()


@router.get(
    f"{PREFIX}/namespaces/{{namespace}}/clusterdeployments/{{name}}/kubeconfig",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}, "description": "a kubeconfig"}},
    tags=["ClusterDeployment"],
    summary="Kubeconfig of a cluster",
)
async def kubeconfig(namespace: str, name: str, store: StoreDep, request: Request) -> Response:
    cluster = await store.get(v1alpha1.ClusterDeployment, namespace, name)
    providers: ProviderRegistry | None = getattr(request.app.state, "providers", None)
    if providers is None:
        raise errors.Unavailable("no provider is configured in this server")
    credential = await store.get(v1alpha1.Credential, namespace, cluster.spec.credential)
    try:
        provider = providers.get(credential.spec.provider)
    except KeyError:
        raise errors.Unavailable(
            f"provider {credential.spec.provider!r} is not installed in this Orbit"
        ) from None
    ref = ClusterRef(uid=cluster.metadata.uid or "", namespace=namespace, name=name)
    try:
        data = await provider.kubeconfig(ref, credential)
    except errors.NotFound:
        raise errors.NotFound(
            f'cluster "{name}" has no infrastructure yet (phase {cluster.status.phase.value}); '
            "wait until it is provisioned",
            kind="ClusterDeployment",
            name=name,
        ) from None
    return Response(content=data, media_type="application/yaml")
