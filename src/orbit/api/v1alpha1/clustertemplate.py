"""ClusterTemplate: an immutable, versioned blueprint of a cluster.

``parameters`` is a JSON Schema (draft 2020-12) with defaults; ``cluster`` is the cluster shape
whose string values may be Jinja2 expressions over the parameters (``"{{ workers }}"``), rendered
with native types so ``count: "{{ workers }}"`` becomes an integer; its ``providerSpec`` is the
provider's own part (host pools for ``ssh``, an image for ``k3d``, infrastructure kinds for
``capi``), which the provider validates. ``upgradeTo`` lists the
templates (same namespace) a cluster of this template may move to. A template's spec never
changes once created: a new version is a new template.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from orbit.api.v1alpha1.meta import Model, Resource, check_subdomain
from orbit.api.v1alpha1.service import Service, check_services


class MachineGroup(Model):
    """A group of identical nodes, as rendered from a template."""

    count: int = Field(ge=0, le=1000)
    machine_size: str = Field(default="small", min_length=1)


class ClusterShape(Model):
    """The rendered shape of a cluster: what the provider is asked to build."""

    control_plane: MachineGroup
    workers: MachineGroup = Field(default_factory=lambda: MachineGroup(count=0))
    labels: dict[str, str] = Field(default_factory=dict)
    provider_spec: dict[str, Any] = Field(
        default_factory=dict,
        description="the provider's own settings (host pools, images, infrastructure kinds), "
        "rendered like the rest of the shape and validated by the provider",
    )

    @field_validator("control_plane")
    @classmethod
    def _at_least_one(cls, value: MachineGroup) -> MachineGroup:
        if value.count < 1:
            raise ValueError("a cluster needs at least one control-plane node")
        return value


class ClusterTemplateSpec(Model):
    provider: str = Field(min_length=1)
    version: str = Field(min_length=1)
    kubernetes_version: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    cluster: dict[str, Any]
    upgrade_to: list[str] = Field(default_factory=list)
    services: list[Service] = Field(
        default_factory=list,
        description="base services every cluster of this template gets; a cluster turns one "
        "off by listing a service of the same name with disabled: true",
    )

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[Service]) -> list[Service]:
        return check_services(value)

    @field_validator("upgrade_to")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            check_subdomain(name)
        return value


class ClusterTemplate(Resource):
    KIND: ClassVar[str] = "ClusterTemplate"
    PLURAL: ClassVar[str] = "clustertemplates"
    SINGULAR: ClassVar[str] = "clustertemplate"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("ct", "template", "templates")
    HAS_STATUS: ClassVar[bool] = False

    spec: ClusterTemplateSpec
