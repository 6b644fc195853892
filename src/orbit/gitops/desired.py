"""From documents to the objects a repository wants: checked, owned, secrets opened.

What the documents alone tell is checked here, before anything is written (the ``Ready``
condition lists each :class:`~orbit.gitops.tree.Problem` with its file and line):

- only kinds people write may come from git (not Events, ServiceSets, Users or
  ClusterRoleBindings, which Orbit or its administrators write);
- an object outside the repository's namespace (or a cluster-scoped one) only from a
  repository in the fleet namespace;
- each object once; the shape its kind demands (pydantic, with the field's own line);
- a Credential's ``spec.secretData`` values encrypted with age (``ENC[age,...]``): a
  plaintext value is refused, so one committed by mistake is never applied either, and each
  value is decrypted with the Orbit Plane's identity.

What needs the store (admission, ownership) is checked by :mod:`orbit.gitops.apply`'s dry run,
also before anything is written: a tree with a mistake changes nothing.

Server-managed fields in a document (``status``, ``metadata.uid``, ``resourceVersion``...) are
ignored, as ``kubectl apply`` ignores them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from orbit.api import v1alpha1
from orbit.api.causes import causes_from_pydantic
from orbit.gitops.tree import Document, Problem

#: Kinds a repository may hold, in the order they are applied (what others use comes first).
APPLY_ORDER: tuple[type[v1alpha1.Resource], ...] = (
    v1alpha1.Namespace,
    v1alpha1.Credential,
    v1alpha1.ClusterTemplate,
    v1alpha1.ServiceTemplate,
    v1alpha1.AccessRule,
    v1alpha1.RoleBinding,
    v1alpha1.Webhook,
    v1alpha1.GitRepository,
    v1alpha1.ClusterDeployment,
    v1alpha1.MultiClusterService,
)
_MANAGEABLE = {cls.KIND: cls for cls in APPLY_ORDER}
_SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "finalizers",
)
ENCRYPTED_PREFIX = "ENC[age,"

#: Opens a Credential document's encrypted values (orbit.secretfiles, with Orbit's identity);
#: raises DecryptFailed.
Decrypt = Callable[[dict[str, Any]], dict[str, Any]]


class DecryptFailed(Exception):
    """A value that does not decrypt: which field, and why (never the value)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Desired:
    """One object the repository wants, and the document it came from."""

    obj: v1alpha1.Resource
    doc: Document

    @property
    def key(self) -> tuple[str, str, str]:
        return self.obj.key


def desired_objects(
    repo: v1alpha1.GitRepository, documents: list[Document], *, decrypt: Decrypt
) -> tuple[list[Desired], list[Problem]]:
    """The objects of ``documents`` in apply order, and every problem found (when there is
    any, nothing is to be applied)."""
    wanted: list[Desired] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], Document] = {}
    for doc in documents:
        found = _one(repo, doc, decrypt)
        if isinstance(found, Problem):
            problems.append(found)
            continue
        if isinstance(found, list):
            problems.extend(found)
            continue
        first = seen.get(found.key)
        if first is not None:
            problems.append(doc.problem(f"{_label(found.obj)} is also defined at {first.source}"))
            continue
        seen[found.key] = doc
        wanted.append(found)
    rank = {cls.KIND: i for i, cls in enumerate(APPLY_ORDER)}
    wanted.sort(key=lambda d: rank[d.obj.KIND])
    return wanted, problems


def _label(obj: v1alpha1.Resource) -> str:
    where = f"{obj.metadata.namespace}/" if obj.metadata.namespace else ""
    return f"{obj.KIND} {where}{obj.metadata.name}"


def _one(
    repo: v1alpha1.GitRepository, doc: Document, decrypt: Decrypt
) -> Desired | Problem | list[Problem]:
    data = doc.data
    if data.get("apiVersion") != v1alpha1.API_VERSION:
        return doc.problem(
            f"unsupported apiVersion {data.get('apiVersion')!r}: use {v1alpha1.API_VERSION!r}",
            "apiVersion",
        )
    kind = data.get("kind")
    cls = _MANAGEABLE.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(_MANAGEABLE))
        return doc.problem(f"kind {kind!r} cannot be managed from git; these can: {known}", "kind")
    body = copy.deepcopy(data)
    body.pop("status", None)
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        return doc.problem("metadata (with a name) is required", "metadata")
    for name in _SERVER_FIELDS:
        meta.pop(name, None)
    if (where := _namespace(repo, cls, meta)) is not None:
        return doc.problem(where, "metadata.namespace")
    if cls is v1alpha1.Credential:
        secrets = _secret_values(body)
        plain = [k for k, v in secrets.items() if isinstance(v, str) and not _encrypted(v)]
        if plain:
            return [
                doc.problem(
                    "plaintext secret value: encrypt it with `orbit secrets encrypt` "
                    "before committing",
                    f"spec.secretData.{k}",
                )
                for k in plain
            ]
        try:
            body = decrypt(body)
        except DecryptFailed as err:
            return doc.problem(str(err), err.field)
    try:
        obj = cls.model_validate(body)
    except ValidationError as err:
        return [
            doc.problem(f"{cause.field}: {cause.message}", cause.field)
            for cause in causes_from_pydantic(err.errors(include_input=False))
        ]
    obj.metadata.labels.update(v1alpha1.owner_labels(repo))
    obj.metadata.annotations[v1alpha1.ANNOTATION_SOURCE] = doc.file
    return Desired(obj, doc)


def _namespace(
    repo: v1alpha1.GitRepository, cls: type[v1alpha1.Resource], meta: dict[str, Any]
) -> str | None:
    """Default the namespace; say why it is not allowed, if it is not."""
    home = repo.metadata.namespace or ""
    if not cls.NAMESPACED:
        meta.pop("namespace", None)
        if repo.manages_everywhere():
            return None
        return (
            f"{cls.KIND} is cluster-scoped: only a GitRepository in namespace "
            f'"{v1alpha1.FLEET_NAMESPACE}" may manage it'
        )
    namespace = meta.setdefault("namespace", home)
    if namespace == home or repo.manages_everywhere():
        return None
    return (
        f'namespace "{namespace}" is not this repository\'s ("{home}"): only a GitRepository '
        f'in namespace "{v1alpha1.FLEET_NAMESPACE}" manages other namespaces'
    )


def _secret_values(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    data = spec.get("secretData") if isinstance(spec, dict) else None
    return data if isinstance(data, dict) else {}


def _encrypted(value: str) -> bool:
    return value.startswith(ENCRYPTED_PREFIX) and value.endswith("]")
