"""The ClusterDeployment controller: provision, scale, upgrade, expire and tear down clusters.

``controller.py`` is the reconcile body (get, finalizer, scope, phases, status in ``finally``),
``phases.py`` the named steps, ``status.py`` the pure functions that turn an observation into
conditions and a phase.
"""

from orbit.controllers.clusterdeployment.controller import ClusterDeploymentReconciler

__all__ = ["ClusterDeploymentReconciler"]
