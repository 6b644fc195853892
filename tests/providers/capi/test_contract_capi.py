"""The ``capi`` provider passes the provider contract suite, against a simulated management
cluster whose Cluster API controllers are played by :mod:`.fakecapi`, once per control plane."""

from __future__ import annotations

from typing import Any

import pytest

from orbit.providers.capi import CapiProvider
from orbit.providers.contract import Harness, ProviderContract

from .conftest import V1, V2, Management, credential

pytestmark = pytest.mark.slow  # a simulated management cluster, end to end


DOCKER_K3S: dict[str, Any] = {
    "controlPlane": {"kind": "KThreesControlPlane"},
    "infrastructure": {"machine": {"customImage": "kindest/node:v1.30.6"}},
}
DOCKER_K0SMOTRON: dict[str, Any] = {
    "controlPlane": {"kind": "K0smotronControlPlane", "spec": {"service": {"type": "NodePort"}}},
}


class TestCapiContract(ProviderContract):
    @pytest.fixture(params=["k3s", "k0smotron"])
    def harness(self, request: pytest.FixtureRequest, management: Management) -> Harness:
        capi = management.capi()
        return Harness(
            provider=CapiProvider(),
            credential=credential(management.kubeconfig),
            settle=capi.step,
            versions=(V1, V2),
            provider_spec=DOCKER_K3S if request.param == "k3s" else DOCKER_K0SMOTRON,
            max_steps=40,
            max_workers=2,
        )
