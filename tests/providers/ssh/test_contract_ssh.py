"""The ``ssh`` provider passes the provider contract suite, over real SSH to real sshd hosts
running the stand-in K3s (one server, up to two agents)."""

from __future__ import annotations

import asyncio

import pytest

from orbit.providers.contract import Harness, ProviderContract
from orbit.providers.ssh import SshProvider

from .conftest import V1, V2, Lab

pytestmark = pytest.mark.slow  # real sshd hosts and stand-in servers


class TestSshContract(ProviderContract):
    @pytest.fixture
    def harness(self, lab: Lab) -> Harness:
        async def settle() -> None:
            await asyncio.sleep(0.3)

        return Harness(
            provider=SshProvider(),
            credential=lab.credential(),
            settle=settle,
            versions=(V1, V2),
            provider_spec=lab.provider_spec(hosts=3),  # 11 server; 12, 13 agents
            max_steps=150,
            max_workers=2,
        )
