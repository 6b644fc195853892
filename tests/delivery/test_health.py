"""Health verdicts on live object dicts, and drift comparison (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from orbit.delivery import engine, health


def deployment(
    *,
    replicas: int = 2,
    generation: int = 2,
    observed: int = 2,
    updated: int = 2,
    available: int = 2,
    status_replicas: int | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": updated if status_replicas is None else status_replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "conditions": conditions
            if conditions is not None
            else [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
        },
    }


def test_available_deployment_is_healthy() -> None:
    assert health.evaluate(deployment()) == health.OK


def test_deployment_not_yet_observed_is_progressing() -> None:
    verdict = health.evaluate(deployment(generation=3, observed=2))
    assert (verdict.healthy, verdict.reason) == (False, "Progressing")


def test_deployment_rolling_out_is_progressing() -> None:
    verdict = health.evaluate(deployment(updated=1))
    assert (verdict.healthy, verdict.reason) == (False, "Progressing")
    assert "1/2 updated" in verdict.message


def test_deployment_with_old_replicas_left_is_progressing() -> None:
    verdict = health.evaluate(deployment(status_replicas=3))
    assert (verdict.healthy, verdict.reason) == (False, "Progressing")


def test_unavailable_deployment_takes_the_condition_reason() -> None:
    verdict = health.evaluate(
        deployment(
            available=0,
            conditions=[
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "message": "Deployment does not have minimum availability.",
                }
            ],
        )
    )
    assert (verdict.healthy, verdict.reason) == (False, "MinimumReplicasUnavailable")
    assert "0/2 replicas available" in verdict.message


def test_replica_failure_reason_wins_for_grouping() -> None:
    verdict = health.evaluate(
        deployment(
            available=0,
            conditions=[
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                },
            ],
        )
    )
    assert verdict == health.Health(
        False, "Unschedulable", "0/3 nodes are available: 3 Insufficient cpu."
    )


def test_progress_deadline_exceeded() -> None:
    verdict = health.evaluate(
        deployment(
            available=0,
            conditions=[
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
            ],
        )
    )
    assert verdict.reason == "ProgressDeadlineExceeded"


def test_deployment_without_status_is_not_healthy() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "generation": 1},
    }
    assert not health.evaluate(obj).healthy


@pytest.mark.parametrize(
    ("status", "healthy"),
    [({"readyReplicas": 3, "observedGeneration": 1}, True), ({"readyReplicas": 1}, False)],
)
def test_statefulset(status: dict[str, Any], healthy: bool) -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "generation": 1},
        "spec": {"replicas": 3},
        "status": status,
    }
    assert health.evaluate(obj).healthy is healthy


@pytest.mark.parametrize(
    ("status", "healthy"),
    [
        ({"desiredNumberScheduled": 3, "numberReady": 3}, True),
        ({"desiredNumberScheduled": 3, "numberReady": 2}, False),
        ({"desiredNumberScheduled": 0, "numberReady": 0}, True),
    ],
)
def test_daemonset(status: dict[str, Any], healthy: bool) -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "d"},
        "status": status,
    }
    assert health.evaluate(obj).healthy is healthy


def test_job() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {}}
    assert health.evaluate({**job, "status": {"succeeded": 1}}).healthy
    running = health.evaluate({**job, "status": {"active": 1}})
    assert (running.healthy, running.reason) == (False, "JobRunning")
    failed = health.evaluate(
        {
            **job,
            "status": {
                "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
                ]
            },
        }
    )
    assert (failed.healthy, failed.reason) == (False, "BackoffLimitExceeded")


def test_pod() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    ready = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    assert health.evaluate({**pod, "status": ready}).healthy
    pending = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    }
    assert health.evaluate({**pod, "status": pending}).reason == "Unschedulable"


def test_other_kinds_are_healthy_once_they_exist() -> None:
    assert health.evaluate(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    ).healthy


def test_summarize_names_every_unhealthy_object_and_keeps_the_first_reason() -> None:
    verdict = health.summarize(
        [
            ("ConfigMap a/c", health.OK),
            ("Deployment a/x", health.Health(False, "Unschedulable", "no room")),
            ("Deployment a/y", health.Health(False, "Progressing", "1/2")),
        ]
    )
    assert verdict == health.Health(
        False, "Unschedulable", "Deployment a/x: no room; Deployment a/y: 1/2"
    )
    assert health.summarize([]) == health.OK


# -- drift comparison ----------------------------------------------------------------------


def test_differences_ignore_fields_added_by_the_server() -> None:
    want = {
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}
    }
    live = {
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "spec": {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}]}
            },
        },
        "status": {"replicas": 2},
    }
    assert engine.differences(want, live) == []


def test_differences_name_changed_and_missing_fields() -> None:
    want = {"metadata": {"labels": {"app": "x"}}, "data": {"a": "1", "b": "2"}}
    live = {"metadata": {"labels": {"app": "y"}}, "data": {"a": "1"}}
    assert engine.differences(want, live) == ["metadata.labels.app", "data.b"]


def test_differences_in_lists() -> None:
    want = {"ports": [{"port": 80}]}
    assert engine.differences(want, {"ports": [{"port": 81}]}) == ["ports[0].port"]
    # merged keyed lists keep other managers' elements: ours must still be there
    assert engine.differences(want, {"ports": [{"port": 443}, {"port": 80}]}) == []
    assert engine.differences(want, {"ports": [{"port": 443}, {"port": 8443}]}) == ["ports"]


def test_differences_accept_normalised_scalars() -> None:
    assert engine.differences({"a": 1}, {"a": "1"}) == []
    assert engine.differences({"a": True}, {"a": "True"}) == ["a"]
    assert engine.differences({"a": None, "b": {}}, {}) == []


def test_label_value_keeps_long_names_valid() -> None:
    assert engine.label_value("short") == "short"
    long = "x" * 100
    value = engine.label_value(long)
    assert len(value) <= 63
    assert value != engine.label_value("x" * 99)
