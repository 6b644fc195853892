"""The ``k3d`` provider: K3s clusters in Docker on a laptop, through the ``k3d`` CLI
(docs/providers/k3d.md).

``spec`` checks the template's providerSpec and the credential's config and names clusters;
``cli`` runs k3d and docker; ``cluster`` reads k3d's JSON and plans the next step;
``provider`` is the contract. The entry point ``orbit.providers: k3d`` is :func:`provider`.
"""

from __future__ import annotations

from orbit.providers.k3d.provider import K3dProvider, provider

__all__ = ["K3dProvider", "provider"]
