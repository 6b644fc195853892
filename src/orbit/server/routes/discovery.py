"""``GET /apis/orbit.k8or.io/v1alpha1``: which kinds this server serves, and how (an
``APIResourceList``, as Kubernetes discovery answers), so clients need no hard-coded table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from orbit.api import v1alpha1
from orbit.server import auth, paths

VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cls in v1alpha1.KINDS:
        common = {"namespaced": cls.NAMESPACED, "kind": cls.KIND}
        out.append(
            {
                "name": cls.PLURAL,
                "singularName": cls.SINGULAR,
                **common,
                "verbs": VERBS,
                "shortNames": list(cls.SHORT_NAMES),
            }
        )
        if cls.HAS_STATUS:
            out.append(
                {
                    "name": f"{cls.PLURAL}/status",
                    "singularName": "",
                    **common,
                    "verbs": ["get", "patch", "update"],
                }
            )
    return out


# Any authenticated identity may discover the kinds; what it may do with them is another matter.
router = APIRouter(tags=["discovery"], dependencies=[Depends(auth.authenticate)])


@router.get(paths.PREFIX, summary="The kinds this server serves", operation_id="getAPIResources")
async def discovery() -> JSONResponse:
    return JSONResponse(
        {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": v1alpha1.API_VERSION,
            "resources": resources(),
        }
    )
