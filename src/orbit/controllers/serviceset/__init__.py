"""The ServiceSet controller: delivers a set's services to its cluster through the delivery
engine, in dependency order, and reports each one's state, health, drift and inventory.

``controller.py`` is the reconcile body (get, finalizer, cluster, services, removal, status in
``finally``), ``service.py`` one service's pass, ``status.py`` the pure rules, ``clients.py``
the Kubernetes clients built from each cluster's provider kubeconfig.
"""

from orbit.controllers.serviceset.clients import cluster_clients, provider_kubeconfig
from orbit.controllers.serviceset.controller import ServiceSetReconciler

__all__ = ["ServiceSetReconciler", "cluster_clients", "provider_kubeconfig"]
