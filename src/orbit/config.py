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
    resync_period: float = Field(default=300.0, gt=0, description="Seconds between full resyncs.")
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
        description="HTTPS port of the simulated clusters' Kubernetes APIs (default: port + 1).",
    )


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
    controllers: ControllerSettings = Field(default_factory=ControllerSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)

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

    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'orbit.db'}"

    def sim_url(self) -> str:
        return self.sim.database_url or f"sqlite:///{self.data_dir / 'simplane.db'}"
