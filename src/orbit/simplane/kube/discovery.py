"""Discovery and OpenAPI documents: how clients learn what a simulated cluster serves.

Legacy (unaggregated) discovery only: kubectl asks for aggregated discovery first
(``application/json;g=apidiscovery.k8s.io;v=v2``) and, given plain ``application/json``, falls
back to ``/api``, ``/apis`` and one APIResourceList per group version, as with older servers.

OpenAPI v3 is served minimally for kubectl's apply: before applying, kubectl checks that the
group version's document has a PATCH operation, tagged with the kind, that takes the
``fieldValidation`` query parameter; it then leaves validation to the server (which, being
schemaless, accepts the object) instead of asking users for ``--validate=false``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from orbit.simplane.engine import Record
from orbit.simplane.kube import scale
from orbit.simplane.kube.kinds import Catalog, ResourceType

_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def version_info(rec: Record) -> dict[str, str]:
    servers = [n for n in rec.nodes if n.role == "control-plane"]
    git_version = min((n.version for n in servers), default=rec.desired.kubernetes_version)
    match = _VERSION.match(git_version)
    major, minor = match.groups() if match else ("1", "0")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z",
        "goVersion": "go1.22.8",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(catalog: Catalog) -> dict[str, Any]:
    groups = [_group(g, v) for g, v in catalog.groups().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(catalog: Catalog, name: str) -> dict[str, Any] | None:
    versions = catalog.groups().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    types = catalog.in_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rtype in types:
        entry: dict[str, Any] = {
            "name": rtype.plural,
            "singularName": rtype.singular,
            "namespaced": rtype.namespaced,
            "kind": rtype.kind,
            "verbs": list(rtype.verbs),
        }
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        resources.append(entry)
        if (rtype.group, rtype.plural) in scale.SCALABLE:
            resources.append(
                {
                    "name": f"{rtype.plural}/scale",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
        if (rtype.group, rtype.plural) == ("", "pods"):
            resources.append(
                {
                    "name": "pods/log",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "Pod",
                    "verbs": ["get"],
                }
            )
        if rtype.has_status:
            resources.append(
                {
                    "name": f"{rtype.plural}/status",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def openapi_index(catalog: Catalog) -> dict[str, Any]:
    paths = {}
    for group, versions in catalog.groups().items():
        for version in versions:
            path = _gv_path(group, version)
            digest = _digest(openapi_document(catalog, group, version))
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def openapi_document(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    types = catalog.in_version(group, version)
    if not types:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rtype in types:
        gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
        schema_name = f"{rtype.group or 'core'}.{rtype.version}.{rtype.kind}"
        schemas[schema_name] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [gvk],
            "x-kubernetes-preserve-unknown-fields": True,
        }
        ref = {"$ref": f"#/components/schemas/{schema_name}"}
        body = {"content": {"application/json": {"schema": ref}}, "required": True}
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
        paths[_item_path(rtype)] = {
            "get": _operation(rtype, "get", gvk, ok),
            "put": {**_operation(rtype, "put", gvk, ok), "requestBody": body},
            "patch": {
                **_operation(rtype, "patch", gvk, ok),
                "requestBody": {
                    "content": {
                        media: {"schema": {"type": "object"}}
                        for media in (
                            "application/apply-patch+yaml",
                            "application/json-patch+json",
                            "application/merge-patch+json",
                            "application/strategic-merge-patch+json",
                        )
                    },
                    "required": True,
                },
            },
            "delete": _operation(rtype, "delete", gvk, {"200": {"description": "OK"}}),
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "simulated"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _item_path(rtype: ResourceType) -> str:
    base = "/" + _gv_path(rtype.group, rtype.version)
    if rtype.namespaced:
        base += "/namespaces/{namespace}"
    return f"{base}/{rtype.plural}/{{name}}"


def _operation(
    rtype: ResourceType, action: str, gvk: dict[str, str], responses: dict[str, Any]
) -> dict[str, Any]:
    params = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    if rtype.namespaced:
        params.append(
            {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    if action in ("put", "patch"):
        for name in ("dryRun", "fieldManager", "fieldValidation"):
            params.append({"name": name, "in": "query", "schema": {"type": "string"}})
    if action == "patch":
        params.append({"name": "force", "in": "query", "schema": {"type": "boolean"}})
    return {
        "operationId": f"{action}{rtype.kind}",
        "parameters": params,
        "responses": responses,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def _digest(document: Any) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:64].upper()
