"""``orbit.k8or.io/v1alpha1``: every kind, and the registry that finds a kind by any of its names.

Use it as a module: ``from orbit.api import v1alpha1`` then ``v1alpha1.ClusterDeployment``.
"""

from __future__ import annotations

from orbit.api.v1alpha1.accessrule import (
    AccessRule,
    AccessRuleSpec,
    TargetNamespaces,
)
from orbit.api.v1alpha1.clusterdeployment import (
    FINALIZER,
    ClusterDeployment,
    ClusterDeploymentSpec,
    ClusterDeploymentStatus,
    ConditionType,
    NodeInfo,
    NodesStatus,
    Phase,
    Reason,
    parse_duration,
)
from orbit.api.v1alpha1.clustertemplate import (
    ClusterShape,
    ClusterTemplate,
    ClusterTemplateSpec,
    MachineGroup,
)
from orbit.api.v1alpha1.credential import (
    SIGNING_PROVIDER,
    Credential,
    CredentialSpec,
    CredentialStatus,
)
from orbit.api.v1alpha1.event import Event, EventSource, ObjectReference
from orbit.api.v1alpha1.gitrepository import (
    ANNOTATION_REQUESTED,
    ANNOTATION_SOURCE,
    FLEET_NAMESPACE,
    GIT_PROVIDER,
    LABEL_REPOSITORY,
    LABEL_REPOSITORY_NAMESPACE,
    GitRepository,
    GitRepositorySpec,
    GitRepositoryStatus,
    ManagedObject,
    SyncHook,
    WriteBack,
    owner_labels,
)
from orbit.api.v1alpha1.identity import (
    GLOBAL_ROLES,
    NAMESPACE_ROLES,
    ClusterRoleBinding,
    ClusterRoleBindingSpec,
    Role,
    RoleBinding,
    RoleBindingSpec,
    Subject,
    User,
    UserSpec,
)
from orbit.api.v1alpha1.meta import (
    API_VERSION,
    GROUP,
    VERSION,
    Condition,
    Model,
    ObjectMeta,
    Resource,
    get_condition,
    now,
    set_condition,
)
from orbit.api.v1alpha1.multiclusterservice import (
    MCS_FINALIZER,
    ClusterServiceState,
    LabelSelector,
    LabelSelectorRequirement,
    MultiClusterService,
    MultiClusterServiceSpec,
    MultiClusterServiceStatus,
    OnFailure,
    RolloutStatus,
    RolloutStrategy,
    Wave,
)
from orbit.api.v1alpha1.namespace import Namespace, NamespaceSpec, NamespaceStatus
from orbit.api.v1alpha1.service import (
    GitSource,
    HelmSource,
    Service,
    ServiceTemplate,
    ServiceTemplateSpec,
    ServiceTemplateStatus,
    SyncMode,
    check_services,
    find_cycle,
)
from orbit.api.v1alpha1.serviceset import (
    LABEL_CLUSTER,
    LABEL_OWNER_KIND,
    LABEL_OWNER_NAME,
    SERVICESET_FINALIZER,
    InventoryItem,
    OwnerRef,
    ServiceSet,
    ServiceSetSpec,
    ServiceSetStatus,
    ServiceState,
    ServiceStatus,
)
from orbit.api.v1alpha1.webhook import (
    EventFilter,
    SecretKeyRef,
    Webhook,
    WebhookSpec,
    WebhookStatus,
)

KINDS: tuple[type[Resource], ...] = (
    Namespace,
    Credential,
    ClusterTemplate,
    ClusterDeployment,
    Event,
    ServiceTemplate,
    ServiceSet,
    MultiClusterService,
    User,
    RoleBinding,
    ClusterRoleBinding,
    AccessRule,
    Webhook,
    GitRepository,
)

_BY_KIND = {cls.KIND: cls for cls in KINDS}
_BY_NAME = {
    name.lower(): cls
    for cls in KINDS
    for name in (cls.KIND, cls.PLURAL, cls.SINGULAR, *cls.SHORT_NAMES)
}


def kind_for(kind: str) -> type[Resource]:
    """The class of a kind, by its exact ``kind`` string; KeyError if unknown."""
    return _BY_KIND[kind]


def resolve_kind(name: str) -> type[Resource] | None:
    """Find a kind by kind, plural, singular or short name (case-insensitive)."""
    return _BY_NAME.get(name.lower())


__all__ = [
    "ANNOTATION_REQUESTED",
    "ANNOTATION_SOURCE",
    "API_VERSION",
    "FINALIZER",
    "FLEET_NAMESPACE",
    "GIT_PROVIDER",
    "GLOBAL_ROLES",
    "GROUP",
    "KINDS",
    "LABEL_CLUSTER",
    "LABEL_OWNER_KIND",
    "LABEL_OWNER_NAME",
    "LABEL_REPOSITORY",
    "LABEL_REPOSITORY_NAMESPACE",
    "MCS_FINALIZER",
    "NAMESPACE_ROLES",
    "SERVICESET_FINALIZER",
    "SIGNING_PROVIDER",
    "VERSION",
    "AccessRule",
    "AccessRuleSpec",
    "ClusterDeployment",
    "ClusterDeploymentSpec",
    "ClusterDeploymentStatus",
    "ClusterRoleBinding",
    "ClusterRoleBindingSpec",
    "ClusterServiceState",
    "ClusterShape",
    "ClusterTemplate",
    "ClusterTemplateSpec",
    "Condition",
    "ConditionType",
    "Credential",
    "CredentialSpec",
    "CredentialStatus",
    "Event",
    "EventFilter",
    "EventSource",
    "GitRepository",
    "GitRepositorySpec",
    "GitRepositoryStatus",
    "GitSource",
    "HelmSource",
    "InventoryItem",
    "LabelSelector",
    "LabelSelectorRequirement",
    "MachineGroup",
    "ManagedObject",
    "Model",
    "MultiClusterService",
    "MultiClusterServiceSpec",
    "MultiClusterServiceStatus",
    "Namespace",
    "NamespaceSpec",
    "NamespaceStatus",
    "NodeInfo",
    "NodesStatus",
    "ObjectMeta",
    "ObjectReference",
    "OnFailure",
    "OwnerRef",
    "Phase",
    "Reason",
    "Resource",
    "Role",
    "RoleBinding",
    "RoleBindingSpec",
    "RolloutStatus",
    "RolloutStrategy",
    "SecretKeyRef",
    "Service",
    "ServiceSet",
    "ServiceSetSpec",
    "ServiceSetStatus",
    "ServiceState",
    "ServiceStatus",
    "ServiceTemplate",
    "ServiceTemplateSpec",
    "ServiceTemplateStatus",
    "Subject",
    "SyncHook",
    "SyncMode",
    "TargetNamespaces",
    "User",
    "UserSpec",
    "Wave",
    "Webhook",
    "WebhookSpec",
    "WebhookStatus",
    "WriteBack",
    "check_services",
    "find_cycle",
    "get_condition",
    "kind_for",
    "now",
    "owner_labels",
    "parse_duration",
    "resolve_kind",
    "set_condition",
]
