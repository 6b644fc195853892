"""The provider registry: lookup by name, clear errors, and entry-point plug-ins."""

from __future__ import annotations

import importlib.metadata
import logging

import pytest

from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    Deletion,
    DesiredCluster,
    Observation,
)
from orbit.providers.registry import ENTRY_POINT_GROUP, ProviderRegistry, UnknownProvider
from orbit.providers.sim import SimProvider
from orbit.simplane import SimPlane


class FakeProvider:
    """A minimal plug-in provider, built by the entry point factories below."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def ensure_cluster(
        self, cluster: DesiredCluster, credential: v1alpha1.Credential
    ) -> Observation:
        return Observation(ref=cluster.ref, nodes=(), infrastructure_ready=False)

    async def delete_cluster(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Deletion:
        return Deletion(gone=True)

    async def observe(self, ref: ClusterRef, credential: v1alpha1.Credential) -> Observation | None:
        return None

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        return b""


def make_fake() -> FakeProvider:
    return FakeProvider("fake")


def make_broken() -> FakeProvider:
    raise RuntimeError("the plug-in's cloud SDK is missing")


def make_not_a_provider() -> object:
    return object()


def make_sim_impostor() -> FakeProvider:
    return FakeProvider("sim")


def entry(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


async def test_register_get_and_names(plane: SimPlane) -> None:
    registry = ProviderRegistry()
    sim = SimProvider(plane)
    registry.register(sim)
    registry.register(FakeProvider("k3d"))
    assert registry.get("sim") is sim
    assert registry.names() == ["k3d", "sim"]
    assert "sim" in registry
    with pytest.raises(ValueError, match="already registered"):
        registry.register(FakeProvider("sim"))
    replacement = FakeProvider("sim")
    registry.register(replacement, replace=True)
    assert registry.get("sim") is replacement


def test_unknown_provider_lists_the_known_ones() -> None:
    registry = ProviderRegistry([FakeProvider("sim"), FakeProvider("ssh")])
    with pytest.raises(UnknownProvider) as caught:
        registry.get("aws")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == 'unknown provider "aws"; known providers: sim, ssh'
    with pytest.raises(UnknownProvider, match="none are registered"):
        ProviderRegistry().get("sim")


def test_register_rejects_objects_that_are_not_providers() -> None:
    with pytest.raises(TypeError, match="name"):
        ProviderRegistry().register(object())  # type: ignore[arg-type]


def test_entry_point_plugins_load_and_broken_ones_are_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    groups: list[str] = []

    def fake_entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        groups.append(group)
        return [
            entry("fake", f"{__name__}:make_fake"),
            entry("broken", f"{__name__}:make_broken"),
            entry("missing", "orbit_no_such_plugin_module:factory"),
            entry("junk", f"{__name__}:make_not_a_provider"),
            entry("impostor", f"{__name__}:make_sim_impostor"),
        ]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    registry = ProviderRegistry([FakeProvider("sim")])
    with caplog.at_level(logging.WARNING, logger="orbit.providers.registry"):
        loaded = registry.load_entry_points()

    assert groups == ["orbit.providers"]
    assert loaded == ["fake"]
    assert registry.names() == ["fake", "sim"]
    assert isinstance(registry.get("fake"), FakeProvider)
    logged = caplog.text
    for name in ("broken", "missing", "junk", "impostor"):
        assert name in logged


class RecordingProvider(FakeProvider):
    """Remembers the credentials it was called with."""

    def __init__(self) -> None:
        super().__init__("ssh")
        self.seen: list[v1alpha1.Credential] = []

    async def kubeconfig(self, ref: ClusterRef, credential: v1alpha1.Credential) -> bytes:
        self.seen.append(credential)
        return b"kubeconfig"


async def test_providers_receive_their_credentials_secrets_and_only_for_the_call() -> None:
    opened: list[str] = []

    async def open_secrets(credential: v1alpha1.Credential) -> dict[str, str]:
        opened.append(credential.metadata.name)
        return {"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"}

    inner = RecordingProvider()
    registry = ProviderRegistry([inner], secrets=open_secrets)
    provider = registry.get("ssh")
    assert provider.name == "ssh"
    ref = ClusterRef(uid="u1", namespace="team-a", name="alpha")
    sealed = v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name="hosts", namespace="team-a"),
        spec=v1alpha1.CredentialSpec(provider="ssh", secret_keys=["privateKey"]),
    )
    plain = v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name="nothing-secret", namespace="team-a"),
        spec=v1alpha1.CredentialSpec(provider="ssh"),
    )

    assert await provider.kubeconfig(ref, sealed) == b"kubeconfig"
    await provider.kubeconfig(ref, plain)

    given, untouched = inner.seen
    assert given.spec.secret_data == {"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"}
    assert "PRIVATE KEY" not in repr(given)
    assert sealed.spec.secret_data is None  # the caller's object is left as it was
    assert untouched is plain  # no secrets held: nothing is opened
    assert opened == ["hosts"]
