"""The ``ssh`` provider's settings: the template's providerSpec and the credential's config.

Both are pydantic models validated on every call (the provider keeps nothing between calls). A
bad value is a :class:`ProviderPermanentError` naming the field path a person edits
(``spec.cluster.providerSpec.hostPools.agents[0].address``, ``config.knownHosts``) and never
echoing the value: a credential's values may be secret.

Paths, arguments and environment values may contain ``{address}``, replaced by the host's
address, so hosts that share one filesystem (tests, NFS roots) can each keep their own K3s
directories.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from orbit.providers.base import SPEC_PATH, validated

DEFAULT_SCRIPT_URL = "https://get.k3s.io"
_ADDRESS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]*$")
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ENV_NAME = re.compile(r"^(INSTALL_K3S|K3S)_[A-Z0-9_]+$")
#: Set by the provider itself, per host: never from a template.
_RESERVED_ENV = frozenset(
    {"K3S_URL", "K3S_TOKEN", "INSTALL_K3S_VERSION", "INSTALL_K3S_BIN_DIR"}
    | {"INSTALL_K3S_SYSTEMD_DIR", "INSTALL_K3S_SKIP_DOWNLOAD", "INSTALL_K3S_EXEC"}
)

Role = Literal["server", "agent"]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def _absolute(value: str) -> str:
    if not value.startswith("/") or any(c in value for c in "\n\0"):
        raise ValueError("must be an absolute path")
    return value.rstrip("/") or "/"


def check_address(value: str) -> str:
    if not _ADDRESS.match(value) or len(value) > 253:
        raise ValueError("must be a host name or an IP address")
    return value


class Paths(_Model):
    """Where K3s lives on a host; the defaults are K3s's own."""

    bin_dir: str = "/usr/local/bin"
    systemd_dir: str = "/etc/systemd/system"
    config_dir: str = "/etc/rancher/k3s"
    data_dir: str = "/var/lib/rancher/k3s"

    _abs = field_validator("bin_dir", "systemd_dir", "config_dir", "data_dir")(_absolute)

    def on(self, address: str) -> Paths:
        return Paths(**{k: v.replace("{address}", address) for k, v in self.model_dump().items()})

    @property
    def kubeconfig(self) -> str:
        return f"{self.config_dir}/k3s.yaml"

    @property
    def node_token(self) -> str:
        return f"{self.data_dir}/server/node-token"

    def uninstall_script(self, role: Role) -> str:
        return f"{self.bin_dir}/{'k3s' if role == 'server' else 'k3s-agent'}-uninstall.sh"


class PoolHost(_Model):
    address: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")
    node_name: str | None = None

    _addr = field_validator("address")(check_address)

    @field_validator("node_name")
    @classmethod
    def _node(cls, value: str | None) -> str | None:
        if value is not None and (not _NODE_NAME.match(value) or len(value) > 253):
            raise ValueError("must be a lower-case DNS subdomain (a Kubernetes node name)")
        return value

    @property
    def node(self) -> str:
        """The Kubernetes node name: given, else the address (K3s's default, the hostname, is
        not unique across hosts cloned from one image)."""
        return self.node_name or self.address.lower()


class HostPools(_Model):
    servers: list[PoolHost] = Field(min_length=1)
    agents: list[PoolHost] = Field(default_factory=list)


class AirGap(_Model):
    """Install without internet: the install script and the k3s binary are uploaded from the
    Orbit Plane's disk. ``binary`` may contain ``{version}``."""

    install_script: str
    binary: str

    _abs = field_validator("install_script", "binary")(_absolute)


class SshProviderSpec(_Model):
    host_pools: HostPools
    install_script_url: str = Field(default=DEFAULT_SCRIPT_URL, pattern=r"^(https?|file)://\S+$")
    air_gap: AirGap | None = None
    paths: Paths = Field(default_factory=Paths)
    api_port: int = Field(default=6443, ge=1, le=65535)
    env: dict[str, str] = Field(default_factory=dict)
    server_args: list[str] = Field(default_factory=list)
    agent_args: list[str] = Field(default_factory=list)
    trust_on_first_use: bool = False
    command_timeout: float = Field(default=300.0, gt=0)

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name}: only INSTALL_K3S_* and K3S_* variables pass through")
            if name in _RESERVED_ENV:
                raise ValueError(f"{name} is set by the provider (use the template's fields)")
        return value


class CredentialConfig(_Model):
    """``Credential.spec.config`` for ``ssh``; the key is ``secretData.privateKey``."""

    model_config = ConfigDict(extra="ignore")

    user: str = Field(default="root", pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")
    known_hosts: str = ""
    hosts: list[str] = Field(default_factory=list)
    state_dir: str = "/var/lib/orbit/ssh"
    connect_timeout: float = Field(default=10.0, gt=0, le=300)

    _abs = field_validator("state_dir")(_absolute)

    @field_validator("known_hosts", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value


def parse_spec(data: Any) -> SshProviderSpec:
    return validated(SshProviderSpec, data, path=SPEC_PATH, what="the template's providerSpec")


def parse_config(data: Any, credential: str) -> CredentialConfig:
    return validated(CredentialConfig, data, path="config", what=f'credential "{credential}"')
