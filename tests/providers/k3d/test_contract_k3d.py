"""The ``k3d`` provider passes the provider contract suite, against the stand-in k3d CLI."""

from __future__ import annotations

import pytest

from orbit.providers.contract import Harness, ProviderContract
from orbit.providers.k3d import K3dProvider

from .conftest import V1, V2, FakeK3d, credential


class TestK3dContract(ProviderContract):
    @pytest.fixture
    def harness(self, fake: FakeK3d, provider: K3dProvider) -> Harness:
        async def settle() -> None:
            # k3d's --wait returns once a node is up: nothing to advance between calls.
            return None

        return Harness(
            provider=provider,
            credential=credential(),
            settle=settle,
            versions=(V1, V2),
            max_workers=3,
            max_steps=20,
        )
