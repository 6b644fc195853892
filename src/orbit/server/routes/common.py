"""Pieces every resource route shares: query parameters, responses, OpenAPI descriptions.

Responses are built from ``obj.to_dict()`` with ``JSONResponse`` (the store already validated
what it returns, so nothing is validated twice); the pydantic models appear only in the OpenAPI
document, through ``response_model`` and the request body references.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from orbit import errors
from orbit.api import selectors, v1alpha1
from orbit.server.errors import Status
from orbit.store.base import ListResult

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Status, "description": "The request cannot be read (malformed body, bad query)"},
    404: {"model": Status, "description": "The object or its namespace does not exist"},
    409: {"model": Status, "description": "Already exists, or a stale resourceVersion"},
    422: {"model": Status, "description": "The object is invalid; causes name each field"},
}


@dataclass(frozen=True)
class ListParams:
    label_selector: str | None
    limit: int | None
    continue_token: str | None
    watch: bool
    resource_version: str | None
    timeout_seconds: int | None


def list_params(
    label_selector: Annotated[
        str | None, Query(alias="labelSelector", description="e.g. env=prod,tier in (a,b)")
    ] = None,
    limit: Annotated[int | None, Query(ge=0, description="At most this many (0: all)")] = None,
    continue_token: Annotated[
        str | None, Query(alias="continue", description="From a previous page's metadata")
    ] = None,
    watch: Annotated[bool, Query(description="Stream changes as NDJSON events")] = False,
    resource_version: Annotated[
        str | None, Query(alias="resourceVersion", description="Watch changes after this one")
    ] = None,
    timeout_seconds: Annotated[
        int | None, Query(alias="timeoutSeconds", ge=0, description="End a watch after this")
    ] = None,
) -> ListParams:
    return ListParams(
        label_selector, limit, continue_token, watch, resource_version, timeout_seconds
    )


DryRunParam = Annotated[
    str | None,
    Query(
        alias="dryRun",
        pattern="^All$",
        description="All: validate and admit the request, store nothing, answer the result",
    ),
]


def parse_selector(text: str | None) -> selectors.Selector:
    try:
        return selectors.parse(text)
    except ValueError as exc:
        raise errors.BadRequest(f"labelSelector: {exc}") from None


def namespace_dependency(cls: type[v1alpha1.Resource]) -> Callable[..., str | None]:
    """The namespace a route addresses: the ``{namespace}`` path segment, or None for a
    cluster-scoped kind."""
    if cls.NAMESPACED:

        def from_path(
            namespace: Annotated[str, Path(description="The namespace (tenant)")],
        ) -> str | None:
            return namespace

        return from_path

    def cluster_scoped() -> str | None:
        return None

    return cluster_scoped


def object_response(obj: v1alpha1.Resource, status_code: int = 200) -> JSONResponse:
    return JSONResponse(obj.to_dict(), status_code=status_code)


def list_response(cls: type[v1alpha1.Resource], result: ListResult[Any]) -> JSONResponse:
    meta: dict[str, Any] = {"resourceVersion": str(result.revision)}
    if result.continue_token:
        meta["continue"] = result.continue_token
    if result.remaining is not None:
        meta["remainingItemCount"] = result.remaining
    return JSONResponse(
        {
            "apiVersion": v1alpha1.API_VERSION,
            "kind": f"{cls.KIND}List",
            "metadata": meta,
            "items": [item.to_dict() for item in result.items],
        }
    )


class ListMeta(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    resource_version: str = Field(alias="resourceVersion")
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: int | None = Field(default=None, alias="remainingItemCount")


@cache
def list_model(cls: type[v1alpha1.Resource]) -> type[BaseModel]:
    """``<Kind>List``, for the OpenAPI document."""
    return create_model(
        f"{cls.KIND}List",
        api_version=(str, Field(default=v1alpha1.API_VERSION, alias="apiVersion")),
        kind=(str, f"{cls.KIND}List"),
        metadata=(ListMeta, ...),
        items=(list[cls], ...),  # type: ignore[valid-type]
    )


def request_body(cls: type[v1alpha1.Resource]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is an object of ``cls`` (JSON or YAML)."""
    schema = {"$ref": f"#/components/schemas/{cls.__name__}"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/yaml": {"schema": schema},
            },
        }
    }


MERGE_PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A JSON merge patch (RFC 7386): null removes a field",
        "content": {
            "application/merge-patch+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
