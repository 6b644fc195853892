"""Orbit's settings: one pydantic-settings tree, read from ``ORBIT_*`` environment variables
(nested with ``__``, e.g. ``ORBIT_SIM__NODE_LATENCY=0``) and overridden by CLI flags.

The embedded default needs nothing set: a SQLite file and the simulated Cluster Plane's own
database under ``data_dir``, the API on 127.0.0.1:8420.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "orbit"


class ControllerSettings(BaseModel):
    workers: int = Field(default=16, ge=1, description="Concurrent reconciles per controller.")
    # controller-runtime resyncs every 10 h: a resync only covers a lost change (Ready clusters
    # are re-observed every ready_recheck anyway), and at 10,000 clusters each one is 10,000
    # passes per controller.
    resync_period: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between full resyncs (handed out after every key a change woke).",
    )
    base_delay: float = Field(
        default=0.2, gt=0, description="First retry delay after an error (s)."
    )
    max_delay: float = Field(default=30.0, gt=0, description="Longest retry delay (s).")
    poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between provider observations while converging."
    )
    ready_recheck: float = Field(
        default=60.0, gt=0, description="Seconds between health observations of Ready clusters."
    )
    ready_recheck_rate: float = Field(
        default=50.0,
        gt=0,
        description="Most health observations of Ready clusters per second in all (controller "
        "processes split it by their share of the shards): past ready_recheck x this many "
        "clusters, each is observed less often.",
    )


class DeliverySettings(BaseModel):
    drift_interval: float = Field(
        default=30.0, gt=0, description="Seconds between drift checks of delivered services."
    )


class SimSettings(BaseModel):
    database_url: str | None = Field(
        default=None, description="The simulated Cluster Plane's own database (default: data_dir)."
    )
    node_latency: float = Field(default=2.0, ge=0, description="Seconds to provision one node.")
    pod_latency: float = Field(
        default=1.0, ge=0, description="Seconds until a scheduled pod is running and ready."
    )
    failure_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Probability that a provider operation fails transiently.",
    )
    seed: int | None = Field(
        default=None, description="Seed of the fault injector (reproducible runs)."
    )
    endpoint_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="HTTPS port of the simulated clusters' Kubernetes APIs (default: port + 1). "
        "Several controller processes on one host may share it (SO_REUSEPORT) when they share "
        "the simulated plane's database and its tls_dir.",
    )
    tls_dir: Path | None = Field(
        default=None,
        description="Where the simulated clusters' endpoint certificate and key are kept "
        "(made on first use; default: <data_dir>/simplane-tls).",
    )


class OidcSettings(BaseModel):
    issuer: str | None = Field(
        default=None, description="OIDC issuer URL (Keycloak, Zitadel, Dex...); unset: no OIDC."
    )
    client_id: str = Field(default="orbit", description="Orbit's client id at the IdP.")
    client_secret: str | None = Field(
        default=None, description="Client secret, for a confidential client (PKCE is always used)."
    )
    scopes: str = Field(default="openid profile email groups", description="Scopes requested.")
    username_claim: str = Field(
        default="preferred_username", description="ID token claim that names the Orbit user."
    )
    groups_claim: str = Field(
        default="groups", description="ID token claim listing the user's groups (bound by role)."
    )
    user_prefix: str = Field(
        default="", description="Prefix of OIDC user names in Orbit (e.g. 'sso-')."
    )
    group_prefix: str = Field(default="", description="Prefix of OIDC group names in Orbit.")


class SecuritySettings(BaseModel):
    key_file: Path | None = Field(
        default=None,
        description="Key-encryption keyring (JSON, 0600; default: data_dir/keys.json, created "
        "on first start).",
    )
    keys: str | None = Field(
        default=None,
        description="The keyring itself, instead of a file (ORBIT_SECURITY__KEYS); rotate-key "
        "needs a file.",
    )
    admin_token_file: Path | None = Field(
        default=None,
        description="Where the first start writes the admin's token "
        "(default: data_dir/admin.token).",
    )
    token_ttl_hours: float = Field(
        default=24.0 * 90, gt=0, description="Lifetime of a new API token unless it asks for one."
    )
    catalog_namespace: str = Field(
        default="default",
        description="Namespace of the shared catalog: templates and credentials other "
        "namespaces may use when an AccessRule allows it.",
    )
    oidc: OidcSettings = Field(default_factory=OidcSettings)


class AccessPointSettings(BaseModel):
    https_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="HTTPS port of Orbit's API, where AccessPoint kubeconfigs point (kubectl "
        "sends tokens over TLS only); default port + 2, 0: no HTTPS listener.",
    )
    url: str | None = Field(
        default=None,
        description="Orbit's HTTPS URL as clients reach it, when a TLS proxy fronts Orbit; "
        "AccessPoint kubeconfigs point there instead of the HTTPS listener.",
    )
    ca_file: Path | None = Field(
        default=None,
        description="CA bundle (PEM) of the certificate at url, written into kubeconfigs; unset: "
        "a publicly trusted certificate.",
    )
    request_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a proxied request may wait for its cluster."
    )
    watch_timeout: float = Field(
        default=1800.0, gt=0, description="Longest a proxied watch or log stream stays open (s)."
    )


class BusSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="The lifecycle event bus: nats://HOST:PORT for NATS JetStream; unset: "
        "in-process.",
    )
    stream: str = Field(default="ORBIT_EVENTS", description="JetStream stream of the events.")


class WebhookSettings(BaseModel):
    retry_base: float = Field(
        default=0.5, gt=0, description="First delay after a failed delivery (s); doubles."
    )
    retry_max: float = Field(
        default=30.0, gt=0, description="Longest delay between delivery attempts (s)."
    )
    timeout: float = Field(default=10.0, gt=0, description="Seconds a receiver may take.")


class ShardingSettings(BaseModel):
    shards: int = Field(
        default=16, ge=1, le=4096, description="Shards the controllers' keyspace is split into."
    )
    lease_seconds: float = Field(
        default=15.0, gt=0, description="How long a controller process holds a shard unrenewed."
    )


class GitOpsSettings(BaseModel):
    identity_file: Path | None = Field(
        default=None,
        description="The age identity that decrypts secrets in git (default: "
        "data_dir/gitops/age.key, created on first start; keep a copy to rebuild Orbit).",
    )
    write_interval: float = Field(
        default=5.0, ge=0, description="Shortest time between two write-back commits (s)."
    )
    git_timeout: float = Field(default=120.0, gt=0, description="Seconds a git command may take.")


class Settings(BaseSettings):
    """Every setting of an Orbit process."""

    model_config = SettingsConfigDict(
        env_prefix="ORBIT_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Where embedded state lives."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the store (default: SQLite in data_dir)."
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8420, ge=0, le=65535, description="Port the API listens on.")
    install_catalog: bool = Field(
        default=True, description="Install the default sim credential and templates on first start."
    )
    event_ttl_hours: float = Field(default=24.0, gt=0, description="How long Events are kept.")
    log_level: str = Field(default="INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="text (key=value fields) or json (one object per line)."
    )
    role: Literal["all", "api", "controllers"] = Field(
        default="all",
        description="What this process runs: the API, the controllers, or both (orbit server).",
    )
    controllers: ControllerSettings = Field(default_factory=ControllerSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    access_point: AccessPointSettings = Field(default_factory=AccessPointSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    sharding: ShardingSettings = Field(default_factory=ShardingSettings)
    gitops: GitOpsSettings = Field(default_factory=GitOpsSettings)

    def public_url(self) -> str:
        """How this process is reached: a wildcard listen address means loopback here."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def sim_endpoint_port(self) -> int:
        return self.sim.endpoint_port or self.port + 1

    def sim_endpoint_url(self) -> str:
        """Base URL of the simulated clusters' Kubernetes APIs (HTTPS, their own port)."""
        host = self.public_url().split("://", 1)[1].rsplit(":", 1)[0]
        return f"https://{host}:{self.sim_endpoint_port()}"

    def https_port(self) -> int:
        """Port of the HTTPS listener (0: none)."""
        found = self.access_point.https_port
        if found is None:
            return self.port + 2 if self.port else 0
        return found

    def https_url(self) -> str | None:
        """Base URL of Orbit's HTTPS listener, None without one."""
        if not self.https_port():
            return None
        host = self.public_url().split("://", 1)[1].rsplit(":", 1)[0]
        return f"https://{host}:{self.https_port()}"

    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'orbit.db'}"

    def key_file(self) -> Path:
        return self.security.key_file or self.data_dir / "keys.json"

    def admin_token_file(self) -> Path:
        return self.security.admin_token_file or self.data_dir / "admin.token"

    def gitops_dir(self) -> Path:
        """Where GitRepositories' working copies (and the default age identity) live."""
        return self.data_dir / "gitops"

    def age_identity_file(self) -> Path:
        return self.gitops.identity_file or self.gitops_dir() / "age.key"

    def sim_url(self) -> str:
        return self.sim.database_url or f"sqlite:///{self.data_dir / 'simplane.db'}"
