"""Settings of the simulated Cluster Plane: where its own database lives, how slow and how flaky
it is, and the URL prefix of the per-cluster Kubernetes endpoints (``{endpoint_base}/{uid}/k8s``).

A dataclass rather than pydantic-settings: the composition root maps Orbit's configuration onto
it, and tests inject a fake ``clock`` (a callable returning epoch seconds) to drive latency
without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Clock = Callable[[], float]

DEFAULT_ENDPOINT_BASE = "http://127.0.0.1:8420/simplane/v1/clusters"


_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def database_url_for(location: str | Path) -> str:
    """A SQLAlchemy async URL.

    A plain path becomes an aiosqlite file URL; a URL without a driver (``sqlite:///x.db``,
    ``postgresql://...``, as Orbit's settings write them) gets the async driver.
    """
    text = str(location)
    if "://" not in text:
        return f"sqlite+aiosqlite:///{Path(text).expanduser().resolve()}"
    scheme, rest = text.split("://", 1)
    return f"{_ASYNC_DRIVERS.get(scheme, scheme)}://{rest}"


@dataclass(frozen=True, kw_only=True)
class SimPlaneSettings:
    """How the plane behaves.

    ``database_url`` is a SQLAlchemy URL or a plain file path (a SQLite file). It must be
    the plane's own database, never the Orbit store: the plane outlives Orbit's crashes.
    ``node_latency`` is the seconds one node step takes (join, upgrade, drain, teardown).
    ``failure_rate`` is the probability that a mutating call fails transiently.
    ``endpoint_ca`` is the PEM certificate of the authority that signed the endpoint's TLS
    certificate, written into kubeconfigs; None for a publicly trusted certificate or plain
    HTTP. kubectl sends bearer tokens over HTTPS only, so kubectl needs an https endpoint
    (lightkube and other clients also authenticate over HTTP).
    ``pod_latency`` is the seconds a scheduled pod of a cluster's Kubernetes API takes to become
    Running and Ready (0: at once).
    """

    database_url: str
    node_latency: float = 2.0
    failure_rate: float = 0.0
    pod_latency: float = 1.0
    seed: int | None = None
    endpoint_base: str = DEFAULT_ENDPOINT_BASE
    endpoint_ca: str | None = None
    clock: Clock = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        if self.node_latency < 0:
            raise ValueError("node_latency must be zero or more seconds")
        if self.pod_latency < 0:
            raise ValueError("pod_latency must be zero or more seconds")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        object.__setattr__(self, "database_url", database_url_for(self.database_url))
        object.__setattr__(self, "endpoint_base", self.endpoint_base.rstrip("/"))
