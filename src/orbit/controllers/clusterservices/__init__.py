"""A cluster's own services: its template's base services (minus those the cluster turns off
with ``disabled: true``) and its ``spec.services``, kept in one ServiceSet the delivery engine
works from. ORBOS's BOOM idea: the same platform in every cluster of a template, each part
switchable off.
"""

from orbit.controllers.clusterservices.controller import ClusterServicesReconciler, desired_services

__all__ = ["ClusterServicesReconciler", "desired_services"]
