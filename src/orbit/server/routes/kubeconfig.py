"""``GET .../clusterdeployments/{name}/kubeconfig``: a kubeconfig for a cluster's Kubernetes API
through the AccessPoint, carrying the caller's own token (never the cluster's credential).

The server is ``{AccessPoint URL}/clusters/{namespace}/{name}/proxy``: Orbit's HTTPS URL with
its certificate authority when ``orbit up`` serves one (``app.state.access_point``), else the
URL this request came in on. The token is the one the caller authenticated this request with,
so the kubeconfig grants exactly what the caller may do, and stops working when that token is
revoked or expires. The cluster must exist; it need not be provisioned yet (requests through
the kubeconfig answer 503 until it is).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from orbit import errors
from orbit.api import v1alpha1
from orbit.server import accesspoint, auth
from orbit.server.accesspoint import kubeconfig as documents
from orbit.server.deps import StoreDep
from orbit.server.paths import PREFIX

router = APIRouter()


def _base_url(request: Request) -> tuple[str, str | None]:
    """Where kubeconfigs point, and the CA to trust there."""
    access = accesspoint.of(request.app)
    if access.url:
        return access.url, access.ca_pem
    public: str | None = getattr(request.app.state, "public_url", None)
    return public or str(request.base_url), None


@router.get(
    f"{PREFIX}/namespaces/{{namespace}}/clusterdeployments/{{name}}/kubeconfig",
    response_class=Response,
    responses={
        200: {
            "content": {"application/yaml": {}},
            "description": "a kubeconfig for the AccessPoint, with the caller's token",
        }
    },
    tags=["ClusterDeployment"],
    summary="Kubeconfig of a cluster (through the AccessPoint, as the caller)",
    dependencies=[Depends(auth.require("get", "clusterdeployments/kubeconfig"))],
)
async def kubeconfig(namespace: str, name: str, store: StoreDep, request: Request) -> Response:
    identity = await auth.authenticate(request)
    token = auth.bearer_token(request)
    if token is None:  # authenticate() has refused such a request already
        raise errors.Unauthorized("authentication required")
    await store.get(v1alpha1.ClusterDeployment, namespace, name)
    base_url, ca_pem = _base_url(request)
    data = documents.render(
        base_url=base_url,
        namespace=namespace,
        name=name,
        user=identity.user,
        token=token,
        ca_pem=ca_pem,
    )
    return Response(
        content=data, media_type="application/yaml", headers={"Cache-Control": "no-store"}
    )
