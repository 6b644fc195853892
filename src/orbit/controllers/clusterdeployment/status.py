"""Pure status computation: from the desired cluster and the provider's observation to
conditions, nodes and a phase. No I/O, so every rule here is tested without a store."""

from __future__ import annotations

from collections import Counter

from orbit.api import v1alpha1
from orbit.api.v1alpha1 import ConditionType, Phase, Reason
from orbit.providers import base


def condition(
    type_: str, ok: bool, reason: str, message: str = "", *, generation: int | None = None
) -> v1alpha1.Condition:
    return v1alpha1.Condition(
        type=type_,
        status="True" if ok else "False",
        reason=reason,
        message=message,
        observed_generation=generation,
    )


def set_conditions(
    status: v1alpha1.ClusterDeploymentStatus, *conditions: v1alpha1.Condition
) -> None:
    for cond in conditions:
        status.conditions = v1alpha1.set_condition(status.conditions, cond)


def nodes_status(obs: base.Observation) -> v1alpha1.NodesStatus:
    versions = Counter(n.kubernetes_version for n in obs.nodes)
    return v1alpha1.NodesStatus(
        ready=sum(1 for n in obs.nodes if n.ready),
        total=len(obs.nodes),
        versions=dict(sorted(versions.items())),
        items=[
            v1alpha1.NodeInfo(
                name=n.name,
                role=n.role,
                kubernetes_version=n.kubernetes_version,
                ready=n.ready,
                machine_size=n.machine_size,
            )
            for n in obs.nodes
        ],
    )


def _group_condition(
    type_: str,
    label: str,
    nodes: tuple[base.ObservedNode, ...],
    want: v1alpha1.MachineGroup,
    version: str,
    generation: int | None,
) -> v1alpha1.Condition:
    ready = [n for n in nodes if n.ready]
    current = [n for n in ready if n.kubernetes_version == version]
    if len(nodes) == want.count and len(current) == want.count:
        return condition(
            type_,
            True,
            Reason.SUCCEEDED,
            f"{want.count}/{want.count} {label} ready on {version}",
            generation=generation,
        )
    if (
        len(nodes) != want.count
        and len(nodes) > 0
        and any(n.kubernetes_version == version for n in nodes)
    ):
        reason = Reason.SCALING
        message = (
            f"{len(ready)}/{want.count} {label} ready "
            f"({len(nodes)} present, scaling to {want.count})"
        )
    elif any(n.kubernetes_version != version for n in nodes):
        reason = Reason.UPGRADING
        message = f"{len(current)}/{want.count} {label} upgraded to {version}"
    else:
        reason = Reason.WAITING_FOR_NODES
        message = f"{len(ready)}/{want.count} {label} ready"
    return condition(type_, False, reason, message, generation=generation)


def observe_into(
    status: v1alpha1.ClusterDeploymentStatus,
    desired: base.DesiredCluster,
    obs: base.Observation,
    *,
    generation: int | None,
) -> bool:
    """Fill ``status`` from ``obs``; return True when the cluster matches ``desired``."""
    status.nodes = nodes_status(obs)
    status.endpoint = obs.endpoint
    cp = _group_condition(
        ConditionType.CONTROL_PLANE_READY,
        "control-plane nodes",
        obs.group("control-plane"),
        desired.control_plane,
        desired.kubernetes_version,
        generation,
    )
    workers = _group_condition(
        ConditionType.WORKERS_READY,
        "workers",
        obs.group("worker"),
        desired.workers,
        desired.kubernetes_version,
        generation,
    )
    infra = condition(
        ConditionType.INFRASTRUCTURE_READY,
        obs.infrastructure_ready,
        Reason.SUCCEEDED if obs.infrastructure_ready else Reason.PROVISIONING,
        obs.message if not obs.infrastructure_ready else "infrastructure provisioned",
        generation=generation,
    )
    ready = obs.infrastructure_ready and cp.status == "True" and workers.status == "True"
    if ready:
        summary = condition(
            ConditionType.READY,
            True,
            Reason.SUCCEEDED,
            f"{status.nodes.total} nodes ready on {desired.kubernetes_version}",
            generation=generation,
        )
    else:
        blocking = next(c for c in (infra, cp, workers) if c.status != "True")
        summary = condition(
            ConditionType.READY,
            False,
            blocking.reason,
            obs.message or blocking.message,
            generation=generation,
        )
    set_conditions(status, infra, cp, workers, summary)
    versions = set(status.nodes.versions)
    status.kubernetes_version = versions.pop() if len(versions) == 1 else status.kubernetes_version
    status.message = obs.message or summary.message
    return ready


def next_phase(status: v1alpha1.ClusterDeploymentStatus, *, ready: bool) -> Phase:
    """Ready when converged; Updating when a cluster that has run (``status.template`` records
    the template it last converged on) converges again; Provisioning until it first does."""
    if ready:
        return Phase.READY
    return Phase.UPDATING if status.template is not None else Phase.PROVISIONING
