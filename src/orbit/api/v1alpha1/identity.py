"""Identity kinds: ``User``, ``RoleBinding`` (per namespace) and ``ClusterRoleBinding`` (global).

Roles are k0rdent's set, fixed by Orbit (``orbit.security.rbac`` says what each may do):
``global-admin`` and ``global-viewer`` are bound by a ClusterRoleBinding and hold everywhere;
``namespace-admin``, ``namespace-editor`` and ``namespace-viewer`` are bound by a RoleBinding
and hold in that binding's namespace. Subjects are users or groups; groups come from a User's
``spec.groups`` and, for OIDC logins, from the identity provider's groups claim.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from orbit.api.v1alpha1.meta import Model, ObjectMeta, Resource


class Role(StrEnum):
    GLOBAL_ADMIN = "global-admin"
    GLOBAL_VIEWER = "global-viewer"
    NAMESPACE_ADMIN = "namespace-admin"
    NAMESPACE_EDITOR = "namespace-editor"
    NAMESPACE_VIEWER = "namespace-viewer"


GLOBAL_ROLES = (Role.GLOBAL_ADMIN, Role.GLOBAL_VIEWER)
NAMESPACE_ROLES = (Role.NAMESPACE_ADMIN, Role.NAMESPACE_EDITOR, Role.NAMESPACE_VIEWER)


class UserSpec(Model):
    display_name: str = ""
    email: str = ""
    groups: list[str] = Field(default_factory=list)
    disabled: bool = Field(default=False, description="A disabled user's tokens stop working.")


class User(Resource):
    """A person or a robot known to Orbit; API tokens are issued to a User."""

    KIND: ClassVar[str] = "User"
    PLURAL: ClassVar[str] = "users"
    SINGULAR: ClassVar[str] = "user"
    NAMESPACED: ClassVar[bool] = False
    HAS_STATUS: ClassVar[bool] = False

    spec: UserSpec = Field(default_factory=UserSpec)

    @field_validator("metadata")
    @classmethod
    def _meta(cls, value: ObjectMeta) -> ObjectMeta:
        if value.namespace:
            raise ValueError("a User is not namespaced: remove metadata.namespace")
        return value


class Subject(Model):
    kind: Literal["User", "Group"]
    name: str = Field(min_length=1, max_length=253)


class RoleBindingSpec(Model):
    role: Literal["namespace-admin", "namespace-editor", "namespace-viewer"]
    subjects: list[Subject] = Field(min_length=1)


class RoleBinding(Resource):
    """Grants a namespace role to users or groups in the binding's own namespace."""

    KIND: ClassVar[str] = "RoleBinding"
    PLURAL: ClassVar[str] = "rolebindings"
    SINGULAR: ClassVar[str] = "rolebinding"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("rb",)
    HAS_STATUS: ClassVar[bool] = False

    spec: RoleBindingSpec


class ClusterRoleBindingSpec(Model):
    role: Literal["global-admin", "global-viewer"]
    subjects: list[Subject] = Field(min_length=1)


class ClusterRoleBinding(Resource):
    """Grants a global role to users or groups, in every namespace."""

    KIND: ClassVar[str] = "ClusterRoleBinding"
    PLURAL: ClassVar[str] = "clusterrolebindings"
    SINGULAR: ClassVar[str] = "clusterrolebinding"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("crb",)
    NAMESPACED: ClassVar[bool] = False
    HAS_STATUS: ClassVar[bool] = False

    spec: ClusterRoleBindingSpec

    @field_validator("metadata")
    @classmethod
    def _meta(cls, value: ObjectMeta) -> ObjectMeta:
        if value.namespace:
            raise ValueError("a ClusterRoleBinding is not namespaced: remove metadata.namespace")
        return value
