"""What the ``k3d`` provider is told, checked: the template's ``providerSpec``, the credential's
``config``, the k3d cluster name of a ClusterDeployment, and K3s versions as image tags.

Naming is the provider's identity scheme. k3d cluster names must be valid host names of at most
32 characters (k3d's ``DefaultClusterNameMaxLength``: it builds ``k3d-<cluster>-agent-<n>``
container names under Docker's 64). The name is a slug of the deployment's name for people plus
a hash of its uid, so it is a pure function of the uid: nothing is remembered between calls,
and a ClusterDeployment deleted and re-created under the same name gets a new uid, hence a new
k3d cluster, and never adopts the old one. (A runtime label would not do: k3d's JSON output
keeps only its own ``k3d*`` container labels, and ``k3d.*`` keys are reserved for k3d.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from orbit.api import v1alpha1
from orbit.providers.base import SPEC_PATH, ClusterRef, ProviderPermanentError, validated

NAME = "k3d"
#: k3d's limit on cluster names (pkg/types/defaults.go, DefaultClusterNameMaxLength).
MAX_CLUSTER_NAME = 32
HASH_LENGTH = 10

_K3S_VERSION = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?\+k3s\d+$")
_K3S_TAG = re.compile(r"^(?P<base>v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)-(?P<k3s>k3s\d+)$")
_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
)
#: ``k3d cluster create`` flags the provider sets itself; extraArgs may not override them.
MANAGED_FLAGS = frozenset(
    {
        "--servers",
        "-s",
        "--agents",
        "-a",
        "--image",
        "-i",
        "--wait",
        "--timeout",
        "--config",
        "-c",
        "--kubeconfig-update-default",
        "--kubeconfig-switch-context",
    }
)


class K3dSpec(BaseModel):
    """``spec.cluster.providerSpec`` of a k3d template. Read at creation, except ``image``,
    which every ensure compares with the nodes (a new repository rolls the nodes)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    image: str = Field(
        default="rancher/k3s",
        description="K3s image repository; the tag comes from the template's kubernetesVersion",
    )
    api_port: str | None = Field(
        default=None, description="--api-port, e.g. 127.0.0.1:6550 (default: k3d picks one)"
    )
    ports: list[str] = Field(default_factory=list, description="--port, e.g. 8080:80@loadbalancer")
    registries: list[str] = Field(
        default_factory=list, description="--registry-use, e.g. k3d-registry.localhost:5000"
    )
    k3s_args: list[str] = Field(
        default_factory=list,
        alias="k3sArgs",  # to_camel would say k3SArgs
        description="--k3s-arg, e.g. --disable=traefik@server:*",
    )
    extra_args: list[str] = Field(
        default_factory=list, description="further `k3d cluster create` arguments"
    )

    @field_validator("image")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _REPOSITORY.match(value):
            raise ValueError(
                f"{value!r} is not an image repository (like rancher/k3s): give no tag or "
                "digest, the tag comes from the template's kubernetesVersion"
            )
        return value

    @field_validator("extra_args")
    @classmethod
    def _unmanaged(cls, value: list[str]) -> list[str]:
        for arg in value:
            flag = arg.split("=", 1)[0]
            if flag in MANAGED_FLAGS:
                raise ValueError(f"{flag} is set by Orbit and cannot be given in extraArgs")
        return value

    def create_args(self) -> list[str]:
        """The user's options, as ``k3d cluster create`` arguments."""
        args: list[str] = []
        if self.api_port:
            args += ["--api-port", self.api_port]
        for port in self.ports:
            args += ["--port", port]
        for registry in self.registries:
            args += ["--registry-use", registry]
        for k3s_arg in self.k3s_args:
            args += ["--k3s-arg", k3s_arg]
        return args + list(self.extra_args)


def parse_spec(raw: Mapping[str, Any]) -> K3dSpec:
    """The validated providerSpec; a bad one is a ProviderPermanentError naming the field."""
    return validated(K3dSpec, dict(raw), path=SPEC_PATH, what="the template's providerSpec")


class Settings(BaseModel):
    """The credential's ``config`` for k3d: where the CLIs are and how long they may take. The
    executables live here, not in the template, because observe, delete and kubeconfig are
    given only the cluster's ref and the credential."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    k3d_path: str = Field(default="k3d", alias="k3dPath")  # to_camel would say k3DPath
    docker_path: str = "docker"
    docker_host: str | None = None
    timeout_seconds: float = Field(default=600.0, gt=0, le=3600)


def settings(credential: v1alpha1.Credential) -> Settings:
    """The credential's settings, after checking it is a k3d credential."""
    if credential.spec.provider != NAME:
        raise ProviderPermanentError(
            f'credential "{credential.metadata.name}" is for provider '
            f'"{credential.spec.provider}", not "{NAME}"'
        )
    what = f'credential "{credential.metadata.name}"'
    return validated(Settings, credential.spec.config, path="config", what=what)


def cluster_name(ref: ClusterRef) -> str:
    """The k3d cluster of ``ref``: ``<name slug>-<uid hash>``, at most 32 characters."""
    digest = hashlib.sha256(ref.uid.encode()).hexdigest()[:HASH_LENGTH]
    slug = re.sub(r"[^a-z0-9]+", "-", ref.name.lower()).strip("-")
    slug = slug[: MAX_CLUSTER_NAME - HASH_LENGTH - 1].rstrip("-") or "orbit"
    return f"{slug}-{digest}"


def image_tag(kubernetes_version: str) -> str:
    """``v1.31.2+k3s1`` -> ``v1.31.2-k3s1`` (Docker tags cannot hold ``+``)."""
    if not _K3S_VERSION.match(kubernetes_version):
        raise ProviderPermanentError(
            f"kubernetesVersion {kubernetes_version!r} is not a K3s release (like "
            "v1.31.2+k3s1): the k3d provider runs the rancher/k3s image of that tag"
        )
    return kubernetes_version.replace("+", "-")


def image_for(spec: K3dSpec, kubernetes_version: str) -> str:
    return f"{spec.image}:{image_tag(kubernetes_version)}"


def version_of(image: str) -> str:
    """The K3s version a node image runs: ``rancher/k3s:v1.31.2-k3s1`` -> ``v1.31.2+k3s1``;
    an image tag of another shape is returned as it is."""
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    found = _K3S_TAG.match(tag)
    return f"{found['base']}+{found['k3s']}" if found else tag
