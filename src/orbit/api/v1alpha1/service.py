"""Services: what Orbit delivers onto clusters.

``Service`` is one entry of a cluster's (or a MultiClusterService's, or a ClusterTemplate's
base) service list: a ServiceTemplate applied with values into a namespace of the cluster.
``ServiceTemplate`` is the immutable, versioned bundle of manifests (inline YAML, a git path,
or a Helm chart) with a JSON Schema of parameters, rendered with Jinja2.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from orbit.api.v1alpha1.meta import (
    Condition,
    Model,
    Resource,
    check_dns_label,
    check_subdomain,
)


class SyncMode(StrEnum):
    """How Orbit keeps a delivered service in line with its template.

    OneTime: apply once, then leave it alone. Continuous: re-apply when the desired state
    changes and report hand-made changes as Drifted. ContinuousWithDriftDetection: also put
    back what was changed or deleted by hand, with an Event each time."""

    ONE_TIME = "OneTime"
    CONTINUOUS = "Continuous"
    CONTINUOUS_WITH_DRIFT_DETECTION = "ContinuousWithDriftDetection"


class Service(Model):
    name: str
    template: str
    namespace: str = "default"
    values: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    sync_mode: SyncMode = SyncMode.CONTINUOUS_WITH_DRIFT_DETECTION
    disabled: bool = False

    @field_validator("name", "namespace")
    @classmethod
    def _label(cls, value: str) -> str:
        return check_dns_label(value)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_subdomain(value)


def check_services(services: list[Service]) -> list[Service]:
    """Unique names, dependencies that exist, and no dependency cycle."""
    names = [s.name for s in services]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"service names must be unique; repeated: {', '.join(dupes)}")
    known = set(names)
    for svc in services:
        missing = [d for d in svc.depends_on if d not in known]
        if missing:
            raise ValueError(
                f"service {svc.name!r} depends on unknown services: {', '.join(missing)}"
            )
    graph = {s.name: list(s.depends_on) for s in services}
    cycle = find_cycle(graph)
    if cycle:
        raise ValueError(f"dependency cycle: {' -> '.join(cycle)}")
    return services


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


class GitSource(Model):
    url: str = Field(min_length=1)
    ref: str = "main"
    path: str = "."


class HelmSource(Model):
    chart: str = Field(min_length=1, description="chart path, URL, oci:// ref, or name in repo")
    repo: str | None = None
    version: str | None = None


class ServiceTemplateSpec(Model):
    version: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    resources: str | None = Field(default=None, description="inline YAML documents (Jinja2)")
    git: GitSource | None = None
    helm: HelmSource | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ServiceTemplateSpec:
        sources = [n for n in ("resources", "git", "helm") if getattr(self, n) is not None]
        if len(sources) != 1:
            found = ", ".join(sources) or "none"
            raise ValueError(f"set exactly one source of resources, git or helm (found: {found})")
        return self


class ServiceTemplateStatus(Model):
    valid: bool | None = None
    conditions: list[Condition] = Field(default_factory=list)
    message: str | None = None
    observed_generation: int | None = None


class ServiceTemplate(Resource):
    KIND: ClassVar[str] = "ServiceTemplate"
    PLURAL: ClassVar[str] = "servicetemplates"
    SINGULAR: ClassVar[str] = "servicetemplate"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("st",)

    spec: ServiceTemplateSpec
    status: ServiceTemplateStatus = Field(default_factory=ServiceTemplateStatus)
