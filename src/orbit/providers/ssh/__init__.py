"""The ``ssh`` provider: real K3s clusters installed over SSH on the hosts of a template's host
pools (docs/providers/ssh.md). Loaded through the ``orbit.providers`` entry point ``ssh``.

Modules: :mod:`.spec` (providerSpec and credential config), :mod:`.hosts` (SSH with pinned
host keys), :mod:`.learned` (host keys learned on first use), :mod:`.k3s` (the steps on one
host), :mod:`.kube` (the cluster's API), :mod:`.survey` (finding a cluster from its uid),
:mod:`.converge` (one ensure pass), :mod:`.provider` (the contract).
"""

from __future__ import annotations

from orbit.providers.ssh.provider import SshProvider

__all__ = ["SshProvider", "provider"]


def provider() -> SshProvider:
    """The entry point's zero-argument factory."""
    return SshProvider()
