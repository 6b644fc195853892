"""Fixtures for the k3d provider: the stand-in ``k3d`` and ``docker`` executables on PATH.

``fake`` puts a fresh bin directory first (and only) on PATH, holding ``k3d`` and ``docker``
scripts whose shebang is this venv's interpreter and which run :mod:`fake_k3d` over a state
file in ``tmp_path``. PATH holds nothing else, so the machine's own docker (if any) is never
reached, and a test can take either executable away.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.providers.base import ClusterRef, DesiredCluster
from orbit.providers.k3d import K3dProvider

HERE = Path(__file__).parent
V1, V2 = "v1.30.6+k3s1", "v1.31.2+k3s1"
REF = ClusterRef(uid="5d1c7a52-9b1e-4c55-8f0e-1f2a3b4c5d6e", namespace="team-a", name="alpha")
READS = {("cluster", "list"), ("kubeconfig", "get")}


class FakeK3d:
    """The stand-in's state and call log, seen from the test."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.state_path = root / "k3d-state.json"
        self.log_path = root / "k3d-calls.jsonl"
        self.bin.mkdir()
        self.log_path.touch()
        for tool in ("k3d", "docker"):
            self.install(tool)

    def install(self, tool: str) -> Path:
        script = self.bin / tool
        script.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(HERE)!r})\n"
            f"import fake_k3d\nsys.exit(fake_k3d.main({tool!r}, sys.argv[1:]))\n"
        )
        script.chmod(0o755)
        return script

    def remove(self, tool: str) -> None:
        (self.bin / tool).unlink()

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def update(self, **changes: Any) -> None:
        state = self.state()
        state.update(changes)
        self.state_path.write_text(json.dumps(state))

    def calls(self) -> list[list[str]]:
        """Every call so far, as ``[tool, *args]``."""
        lines = self.log_path.read_text().splitlines()
        return [[entry["tool"], *entry["args"]] for entry in map(json.loads, lines)]

    def mutations(self) -> list[list[str]]:
        """The calls that change something (everything but list, kubeconfig get, info)."""
        return [c for c in self.calls() if tuple(c[1:3]) not in READS and c[1:2] != ["info"]]

    def forget(self) -> None:
        self.log_path.write_text("")

    def nodes(self, cluster: str) -> list[dict[str, Any]]:
        return list(self.state()["clusters"][cluster]["nodes"])

    def set_running(self, cluster: str, running: bool) -> None:
        state = self.state()
        for node in state["clusters"][cluster]["nodes"]:
            node["running"] = running
        self.state_path.write_text(json.dumps(state))


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeK3d:
    stand_in = FakeK3d(tmp_path)
    monkeypatch.setenv("PATH", str(stand_in.bin))
    monkeypatch.setenv("FAKE_K3D_STATE", str(stand_in.state_path))
    monkeypatch.setenv("FAKE_K3D_LOG", str(stand_in.log_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return stand_in


@pytest.fixture
def provider() -> K3dProvider:
    return K3dProvider()


def credential(provider: str = "k3d", **config: Any) -> v1alpha1.Credential:
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name="laptop", namespace="team-a"),
        spec=v1alpha1.CredentialSpec(provider=provider, config=config),
    )


def desired(
    *,
    servers: int = 1,
    workers: int = 1,
    version: str = V1,
    ref: ClusterRef = REF,
    **provider_spec: Any,
) -> DesiredCluster:
    return DesiredCluster(
        ref=ref,
        kubernetes_version=version,
        control_plane=v1alpha1.MachineGroup(count=servers),
        workers=v1alpha1.MachineGroup(count=workers),
        provider_spec=provider_spec,
    )
