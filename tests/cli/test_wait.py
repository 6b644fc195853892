"""The --wait loop itself, driven step by step: a fake clock and a sleep that plays the
controller, against the real server (so each poll is a real GET)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.cli import wait
from orbit.cli.context import CliError
from orbit.client import OrbitClient

from .conftest import Cli
from .helpers import cluster, set_status, setup


class Script:
    """A Waiter whose sleep advances a fake clock and applies the next status change."""

    def __init__(self, steps: list[Callable[[], object]]) -> None:
        self.steps = steps
        self.now = 0.0
        self.shown: list[str] = []
        self.waiter = wait.Waiter(
            poll=5.0, clock=lambda: self.now, sleep=self.sleep, show=self.shown.append
        )

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.steps:
            self.steps.pop(0)()


@pytest.fixture
def dev(cli: Cli, client: OrbitClient) -> OrbitClient:
    setup(client, cluster(workers=2))
    return client


def test_progress_is_shown_once_per_change_until_ready(dev: OrbitClient) -> None:
    def status(**fields: Any) -> Callable[[], None]:
        return lambda: set_status(dev, "dev", **fields)

    script = Script(
        [
            status(
                phase="Provisioning", nodes={"ready": 0, "total": 3}, message="creating machines"
            ),
            lambda: None,  # nothing changed: nothing printed
            status(
                phase="Provisioning", nodes={"ready": 1, "total": 3, "versions": {"v1.30.2": 1}}
            ),
            status(
                phase="Ready",
                nodes={"ready": 3, "total": 3, "versions": {"v1.30.2": 3}},
                message=None,
            ),
        ]
    )
    obj = wait.until_settled(
        dev,
        "dev",
        namespace="default",
        timeout=timedelta(minutes=15),
        timeout_text="15m",
        waiter=script.waiter,
    )
    assert obj.status.phase is v1alpha1.Phase.READY
    assert script.shown == [
        "cluster dev: Pending, 0/0 nodes ready",
        "cluster dev: Provisioning, 0/3 nodes ready: creating machines",
        "cluster dev: Provisioning, 1/3 nodes ready, v1.30.2 x1: creating machines",
        "cluster dev: Ready, 3/3 nodes ready, v1.30.2 x3",
    ]


def test_ready_of_an_older_generation_is_not_ready(dev: OrbitClient) -> None:
    set_status(dev, "dev", phase="Ready", nodes={"ready": 3, "total": 3})
    dev.patch(
        v1alpha1.ClusterDeployment, "dev", {"spec": {"config": {"workers": 3}}}
    )  # generation 2
    script = Script([])
    with pytest.raises(
        CliError,
        match=r"^timed out after 20s waiting for cluster dev: phase Ready, 3/3 nodes ready$",
    ):
        wait.until_settled(
            dev,
            "dev",
            namespace="default",
            timeout=timedelta(seconds=20),
            timeout_text="20s",
            waiter=script.waiter,
        )
    assert script.now == pytest.approx(20.0)


def test_failure_of_the_current_generation_ends_the_wait(dev: OrbitClient) -> None:
    ready_false = {
        "type": "Ready",
        "status": "False",
        "reason": "TemplateInvalid",
        "message": "template does not render",
    }

    def fail_without_observed_generation() -> None:
        obj = dev.get(v1alpha1.ClusterDeployment, "dev")
        condition = {**ready_false, "observedGeneration": obj.metadata.generation}
        dev.patch_status(
            v1alpha1.ClusterDeployment,
            "dev",
            {"status": {"phase": "Failed", "conditions": [condition]}},
        )

    script = Script([fail_without_observed_generation])
    with pytest.raises(CliError, match=r"^cluster dev failed: template does not render$"):
        wait.until_settled(
            dev,
            "dev",
            namespace="default",
            timeout=timedelta(minutes=1),
            timeout_text="1m",
            waiter=script.waiter,
        )


def test_a_cluster_deleted_while_waiting(dev: OrbitClient) -> None:
    script = Script([lambda: dev.delete(v1alpha1.ClusterDeployment, "dev")])
    with pytest.raises(CliError, match="was deleted while waiting"):
        wait.until_settled(
            dev,
            "dev",
            namespace="default",
            timeout=timedelta(minutes=1),
            timeout_text="1m",
            waiter=script.waiter,
        )


def test_until_deleted_returns_on_404(dev: OrbitClient) -> None:
    dev.patch(v1alpha1.ClusterDeployment, "dev", {"metadata": {"finalizers": ["test/x"]}})
    dev.delete(v1alpha1.ClusterDeployment, "dev")
    script = Script(
        [lambda: dev.patch(v1alpha1.ClusterDeployment, "dev", {"metadata": {"finalizers": []}})]
    )
    wait.until_deleted(
        dev,
        v1alpha1.ClusterDeployment,
        "dev",
        namespace="default",
        timeout=timedelta(minutes=1),
        timeout_text="1m",
        waiter=script.waiter,
    )
    assert script.shown == ["clusterdeployment dev: Deleting, 0/0 nodes ready"]
