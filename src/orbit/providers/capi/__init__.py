"""The ``capi`` provider: Orbit clusters built by Cluster API, on any infrastructure it has a
provider for (AWS, Azure, GCP, vSphere, Docker...), through a management cluster.

Modules: ``settings`` (the Credential's config and the template's providerSpec, validated),
``render`` (the Cluster API objects of a cluster, pure), ``observe`` (their status read back
into an Observation, pure), ``provider`` (the contract's four calls over a management-cluster
session, ``orbit.providers.kube``). User documentation: docs/providers/capi.md.

Loaded as a plug-in: the entry point ``capi = "orbit.providers.capi:provider"``.
"""

from __future__ import annotations

from orbit.providers.capi.provider import CapiProvider


def provider() -> CapiProvider:
    """The entry point: a ``capi`` provider (it needs no wiring; credentials say where)."""
    return CapiProvider()


__all__ = ["CapiProvider", "provider"]
