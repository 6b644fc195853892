"""AccessRule: which shared ClusterTemplates, ServiceTemplates and Credentials of the catalog
namespace the namespaces it targets may use (one of k0rdent's AccessManagement ``accessRules``,
as an object of its own so each rule has a name a refusal can cite).

A namespace always may use its own templates and credentials (its admins manage them); objects
of the catalog namespace (``security.catalogNamespace``, ``default`` unless configured) need a
rule that targets the namespace and lists them. Rules only add: a namespace may use what any
rule targeting it allows. Entries are names or shell-style patterns (``sim-*``, ``sim-ha-1-?-0``,
``web-[12]-*``), matched against the whole name, case-sensitively.

Rules are checked by admission when a reference is made (a create, or a change to another
template); an existing cluster keeps what it was admitted with, so removing a rule never stops
a cluster from scaling, being deleted or getting its services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, field_validator, model_validator

from orbit.api import selectors
from orbit.api.v1alpha1.meta import Model, ObjectMeta, Resource, check_dns_label
from orbit.api.v1alpha1.multiclusterservice import LabelSelector

_PATTERN = re.compile(r"^[a-z0-9.\-*?\[\]!]+$")


def check_pattern(value: str) -> str:
    """A name, or a shell-style pattern over names (``*``, ``?``, ``[...]``)."""
    if len(value) > 253 or not _PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a name or name pattern: use lowercase letters, digits, '-' and "
            "'.', with '*', '?' or '[...]' as wildcards (at most 253 characters)"
        )
    return value


NamePattern = Annotated[str, AfterValidator(check_pattern)]
NamespaceName = Annotated[str, AfterValidator(check_dns_label)]


class TargetNamespaces(Model):
    """The namespaces a rule applies to: those named in ``list`` and those whose labels match
    ``selector`` (an empty selector, ``{}``, matches every namespace)."""

    names: list[NamespaceName] = Field(default_factory=list, alias="list")
    selector: LabelSelector | None = None

    @model_validator(mode="after")
    def _some(self) -> TargetNamespaces:
        if not self.names and self.selector is None:
            raise ValueError(
                "name the namespaces in list, select them by label with selector, or both"
            )
        if self.selector is not None:
            try:
                selectors.parse(self.selector.to_query())
            except ValueError as err:
                raise ValueError(f"selector: {err}") from None
        return self


class AccessRuleSpec(Model):
    target_namespaces: TargetNamespaces
    cluster_templates: list[NamePattern] = Field(
        default_factory=list, description="ClusterTemplates of the catalog namespace, by name."
    )
    service_templates: list[NamePattern] = Field(
        default_factory=list, description="ServiceTemplates of the catalog namespace, by name."
    )
    credentials: list[NamePattern] = Field(
        default_factory=list, description="Credentials of the catalog namespace, by name."
    )

    @model_validator(mode="after")
    def _allows(self) -> AccessRuleSpec:
        if not (self.cluster_templates or self.service_templates or self.credentials):
            raise ValueError(
                "the rule allows nothing: list clusterTemplates, serviceTemplates or credentials"
            )
        return self


class AccessRule(Resource):
    """Lets the namespaces it targets use named objects of the shared catalog namespace."""

    KIND: ClassVar[str] = "AccessRule"
    PLURAL: ClassVar[str] = "accessrules"
    SINGULAR: ClassVar[str] = "accessrule"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("ar",)
    NAMESPACED: ClassVar[bool] = False
    HAS_STATUS: ClassVar[bool] = False

    spec: AccessRuleSpec

    @field_validator("metadata")
    @classmethod
    def _meta(cls, value: ObjectMeta) -> ObjectMeta:
        if value.namespace:
            raise ValueError("an AccessRule is not namespaced: remove metadata.namespace")
        return value

    def targets(self, namespace: str, labels: Mapping[str, str]) -> bool:
        """Whether the rule applies to ``namespace``, whose labels are ``labels``."""
        target = self.spec.target_namespaces
        if namespace in target.names:
            return True
        if target.selector is None:
            return False
        return selectors.parse(target.selector.to_query()).matches(labels)

    def patterns(self, kind: str) -> list[str]:
        """The names or patterns this rule allows for ``kind`` (a KIND string)."""
        spec = self.spec
        return {
            "ClusterTemplate": spec.cluster_templates,
            "ServiceTemplate": spec.service_templates,
            "Credential": spec.credentials,
        }.get(kind, [])

    def allows(self, kind: str, name: str) -> bool:
        """Whether ``name`` of ``kind`` matches one of this rule's entries."""
        return any(fnmatchcase(name, pattern) for pattern in self.patterns(kind))
