"""The ``sim`` provider passes the provider contract suite."""

from __future__ import annotations

import pytest

from orbit.providers.contract import Harness, ProviderContract
from orbit.providers.sim import SimProvider

from .conftest import LATENCY, FakeClock, credential


class TestSimContract(ProviderContract):
    @pytest.fixture
    def harness(self, provider: SimProvider, clock: FakeClock) -> Harness:
        async def settle() -> None:
            clock.advance(LATENCY)

        return Harness(
            provider=provider,
            credential=credential(),
            settle=settle,
            versions=("v1.30.6+k3s1", "v1.31.2+k3s1"),
            max_workers=3,
        )
