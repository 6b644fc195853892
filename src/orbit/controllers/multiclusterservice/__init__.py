"""The MultiClusterService controller: which clusters match, which revision of the services
each should have, rollouts wave by wave with a health gate, pause or rollback on failure, and
a status a person can read at a glance. ``waves.py`` is the pure planning, ``controller.py``
the reconcile body."""

from orbit.controllers.multiclusterservice.controller import MultiClusterServiceReconciler

__all__ = ["MultiClusterServiceReconciler"]
