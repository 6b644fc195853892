"""Reading a cluster's objects as clients see them: stored ones, computed statuses, derived ones.

Most types are their stored rows. Nodes come from the cluster's record, Pods and ReplicaSets
from the simulation (:mod:`orbit.simplane.kube.simulation`), and the status of Deployments,
StatefulSets, DaemonSets and Pods is computed on every read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from orbit.simplane.engine import Record
from orbit.simplane.kube import nodes, objects
from orbit.simplane.kube.kinds import ResourceType
from orbit.simplane.kube.objects import Row
from orbit.simplane.kube.simulation import Simulation

WORKLOAD_TYPES = frozenset(
    {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets")}
)
SIMULATED = WORKLOAD_TYPES | {("", "pods"), ("apps", "replicasets")}


def present(rtype: ResourceType, body: dict[str, Any], status: Any = None) -> dict[str, Any]:
    """``body`` in the requested version (no conversion: the plane is schemaless)."""
    shown = dict(body)
    shown["apiVersion"], shown["kind"] = rtype.api_version, rtype.kind
    if status is not None:
        shown["status"] = status
    return shown


def is_workload(rtype: ResourceType) -> bool:
    return (rtype.group, rtype.plural) in WORKLOAD_TYPES


Simulate = Callable[[], Awaitable[Simulation]]


def is_simulated(rtype: ResourceType) -> bool:
    return (rtype.group, rtype.plural) in SIMULATED


async def collect(
    conn: AsyncConnection,
    rec: Record,
    rtype: ResourceType,
    namespace: str | None,
    *,
    simulate: Simulate,
    resource_version: str,
) -> list[dict[str, Any]]:
    """Every object of ``rtype`` in ``namespace`` (None: all), as clients see them."""
    key = (rtype.group, rtype.plural)
    if key == ("", "nodes"):
        return [
            nodes.node_object(rec, n, resource_version=resource_version)
            for n in nodes.registered(rec)
        ]
    if key in SIMULATED:
        return from_simulation(await simulate(), rtype, namespace)
    rows = await objects.list_rows(conn, rec.uid, rtype.group, rtype.plural, namespace)
    return [present(rtype, r.body) for r in rows]


def from_simulation(
    sim: Simulation, rtype: ResourceType, namespace: str | None
) -> list[dict[str, Any]]:
    if rtype.plural == "pods":
        return [sim.pod_object(p) for p in sim.all_pods(namespace)]
    if rtype.plural == "replicasets":
        return [sim.replicaset(r) for r in sim.rows("deployments", namespace)]
    return [present(rtype, r.body, sim.status(r)) for r in sim.rows(rtype.plural, namespace)]


async def one(
    conn: AsyncConnection,
    rec: Record,
    rtype: ResourceType,
    namespace: str,
    name: str,
    *,
    simulate: Simulate,
    resource_version: str,
) -> dict[str, Any] | None:
    """One object as clients see it; None if there is none."""
    key = (rtype.group, rtype.plural)
    if key == ("", "pods"):
        sim = await simulate()
        pod = sim.owner_of(namespace, name)
        return None if pod is None else sim.pod_object(pod)
    if key in WORKLOAD_TYPES:
        sim = await simulate()
        row = next((r for r in sim.rows(rtype.plural, namespace) if r.name == name), None)
        return None if row is None else present(rtype, row.body, sim.status(row))
    if key in SIMULATED or key == ("", "nodes"):
        found = await collect(
            conn,
            rec,
            rtype,
            namespace if rtype.namespaced else None,
            simulate=simulate,
            resource_version=resource_version,
        )
        return next((o for o in found if o["metadata"]["name"] == name), None)
    row = await objects.get(conn, rec.uid, rtype.group, rtype.plural, namespace, name)
    return None if row is None else present(rtype, row.body)


def shown_row(sim: Simulation, rtype: ResourceType, row: Row) -> dict[str, Any]:
    """A just-written row as the response shows it (workloads and pods get their status)."""
    if is_workload(rtype):
        return present(rtype, row.body, sim.status(row))
    if (rtype.group, rtype.plural) == ("", "pods"):
        pod = sim.owner_of(row.namespace, row.name)
        if pod is not None:
            return sim.pod_object(pod)
    return present(rtype, row.body)
