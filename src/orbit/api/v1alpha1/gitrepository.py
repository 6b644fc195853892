"""GitRepository: a git repository as the source of truth for the Orbit objects under a path.

Orbit fetches ``spec.url`` at ``spec.branch`` every ``spec.interval`` (or at once when its sync
hook is called), applies every Orbit object found under ``spec.path`` through admission, labels
what it owns (:data:`LABEL_REPOSITORY`, :data:`LABEL_REPOSITORY_NAMESPACE`) and, with
``spec.prune``, deletes what it owns that left the tree. A tree that does not parse changes
nothing: the ``Ready`` condition names the file and line. With ``spec.writeBack`` (the default)
Orbit writes the current state of what it owns into the same repository under
``spec.writeBack.path`` (``.orbit/status/<namespace>/<kind>/<name>.yaml``) and pushes; that
tree stays apart from the synced one (:func:`write_back_overlap`, checked at admission).

Tenancy: a GitRepository manages objects of its own namespace only, except in the fleet
namespace (:data:`FLEET_NAMESPACE`, writable by global admins), where it may manage every
namespace and the Namespace objects themselves. ``spec.credentialRef`` names a Credential of
the same namespace with the reserved provider :data:`GIT_PROVIDER` (an SSH key and the pinned
host keys, or a token); ``spec.hook.secretRef`` the key that signs sync-hook calls. Deleting a
GitRepository leaves its objects in place (a new one of the same name takes them over).
See docs/gitops.md.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import ClassVar

from pydantic import Field, field_validator

from orbit.api.v1alpha1.clusterdeployment import parse_duration
from orbit.api.v1alpha1.meta import Condition, Model, Resource, check_dns_label
from orbit.api.v1alpha1.webhook import SecretKeyRef

#: The provider of a Credential that opens a git repository (never usable by a cluster).
GIT_PROVIDER = "git"
#: The namespace whose GitRepositories may manage every namespace.
FLEET_NAMESPACE = "orbit-system"
#: Labels Orbit puts on every object a GitRepository applied: which repository owns it.
LABEL_REPOSITORY = "gitops.orbit.k8or.io/repository"
LABEL_REPOSITORY_NAMESPACE = "gitops.orbit.k8or.io/repository-namespace"
#: Annotations on owned objects: the file (and document) they came from.
ANNOTATION_SOURCE = "gitops.orbit.k8or.io/source"
#: Set (to any new value, e.g. a timestamp) to ask for a sync now; the sync hook sets it.
ANNOTATION_REQUESTED = "gitops.orbit.k8or.io/requested-at"

CONDITION_READY = "Ready"
CONDITION_WRITTEN_BACK = "WrittenBack"
REASON_SYNCED = "Synced"
REASON_FETCH_FAILED = "FetchFailed"
REASON_PARSE_FAILED = "ParseFailed"
REASON_APPLY_FAILED = "ApplyFailed"
REASON_CREDENTIAL_INVALID = "CredentialInvalid"
REASON_SUSPENDED = "Suspended"
REASON_PUSHED = "Pushed"
REASON_PUSH_FAILED = "PushFailed"
REASON_DISABLED = "Disabled"
REASON_FILE_KEPT = "FileKept"

MIN_INTERVAL = timedelta(seconds=1)
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$")


def check_relative_path(value: str, *, what: str) -> str:
    """A normalised path inside the repository (no absolute path, no ``..``)."""
    if value.startswith("/") or "\\" in value:
        raise ValueError(f"{what} {value!r} must be a relative path inside the repository")
    normal = posixpath.normpath(value or ".")
    if normal == ".." or normal.startswith("../"):
        raise ValueError(f"{what} {value!r} leaves the repository")
    return normal


class WriteBack(Model):
    enabled: bool = Field(default=True, description="Write current state back and push.")
    path: str = Field(default=".orbit/status", description="The tree Orbit owns in the repository.")
    author_name: str = Field(default="Orbit", min_length=1)
    author_email: str = Field(default="orbit@orbit.k8or.io", min_length=3)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        path = check_relative_path(value, what="writeBack.path")
        if path == ".":
            raise ValueError("writeBack.path must be a directory of its own, not the root")
        return path


class SyncHook(Model):
    secret_ref: SecretKeyRef = Field(
        description="The Credential key that signs calls (X-Hub-Signature-256: sha256=...)."
    )


class GitRepositorySpec(Model):
    url: str = Field(description="file:///path, ssh://user@host[:port]/path or https:// URL.")
    branch: str = Field(default="main", min_length=1)
    path: str = Field(default=".", description="The directory of Orbit objects to apply.")
    interval: str = Field(default="1m", description="How often to fetch (90s, 5m, 1h).")
    credential_ref: str | None = Field(
        default=None, description='A Credential of provider "git" in the same namespace.'
    )
    prune: bool = Field(default=True, description="Delete owned objects that left the tree.")
    suspend: bool = Field(default=False, description="Stop syncing (nothing is deleted).")
    write_back: WriteBack = Field(default_factory=WriteBack)
    hook: SyncHook | None = Field(default=None, description="Allow signed sync-now calls.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        scheme, sep, rest = value.partition("://")
        if not sep and _SCP_LIKE.match(value):
            user_host, _, path = value.partition(":")
            raise ValueError(f"url {value!r}: write it as a URL, ssh://{user_host}/{path}")
        if scheme not in ("file", "ssh", "https") or not sep:
            raise ValueError(
                f"url {value!r} is not supported: use file:///path, ssh://user@host[:port]/path "
                "or https://host/path"
            )
        authority = rest.split("/", 1)[0]
        if scheme == "https" and "@" in authority:
            raise ValueError("url must not carry credentials; name a Credential in credentialRef")
        if scheme == "file" and not rest.startswith("/"):
            raise ValueError(f"url {value!r}: a file URL needs an absolute path (file:///...)")
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if value.startswith("-") or ".." in value or any(c in value for c in " ~^:?*[\\"):
            raise ValueError(f"branch {value!r} is not a valid branch name")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_relative_path(value, what="path")

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        if parse_duration(value) < MIN_INTERVAL:
            raise ValueError("interval must be at least 1s")
        return value

    def interval_seconds(self) -> float:
        return parse_duration(self.interval).total_seconds()


def write_back_overlap(spec: GitRepositorySpec) -> str | None:
    """Why ``spec.writeBack.path`` mixes with the synced tree, or None when it does not.

    Orbit writes only under ``writeBack.path`` and reads only under ``spec.path``; the two
    trees must stay apart, so that a person's file is never where Orbit writes and Orbit's files
    are never read as desired state. A write-back tree under the synced path is allowed when it
    is hidden (a directory starting with ``.``, as the default ``.orbit/status``): the tree
    reader never enters those.
    """
    synced, written = PurePosixPath(spec.path), PurePosixPath(spec.write_back.path)
    if synced == written or synced.is_relative_to(written):
        return (
            f"writeBack.path {spec.write_back.path!r} holds the synced path {spec.path!r}: "
            "Orbit would read its own status files as desired state; use a separate directory"
        )
    if written.is_relative_to(synced) and not any(
        part.startswith(".") for part in written.relative_to(synced).parts
    ):
        return (
            f"writeBack.path {spec.write_back.path!r} is inside the synced path {spec.path!r}: "
            "Orbit would write among your files; use a hidden directory (.orbit/status) or one "
            "outside the synced path"
        )
    return None


class ManagedObject(Model):
    kind: str
    namespace: str | None = None
    name: str
    source: str = Field(description="file:line of its document in the repository.")


class GitRepositoryStatus(Model):
    observed_generation: int | None = None
    last_synced_commit: str | None = None
    last_sync_time: datetime | None = None
    last_handled_request: str | None = None
    last_written_commit: str | None = None
    last_write_time: datetime | None = None
    inventory: list[ManagedObject] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)


class GitRepository(Resource):
    KIND: ClassVar[str] = "GitRepository"
    PLURAL: ClassVar[str] = "gitrepositories"
    SINGULAR: ClassVar[str] = "gitrepository"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("gitrepo", "repo")

    spec: GitRepositorySpec
    status: GitRepositoryStatus | None = None

    @field_validator("metadata")
    @classmethod
    def _short_name(cls, value: object) -> object:
        # The name goes into a label value on every object it owns (at most 63 characters).
        name = getattr(value, "name", "")
        check_dns_label(name)
        return value

    def manages_everywhere(self) -> bool:
        """Whether it may manage every namespace (it lives in the fleet namespace)."""
        return self.metadata.namespace == FLEET_NAMESPACE


def owner_labels(repo: GitRepository) -> dict[str, str]:
    """The labels marking an object as owned by ``repo``."""
    return {
        LABEL_REPOSITORY: repo.metadata.name,
        LABEL_REPOSITORY_NAMESPACE: repo.metadata.namespace or "",
    }
