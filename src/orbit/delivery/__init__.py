"""Service delivery: turning a ServiceTemplate and a service's values into Kubernetes manifests
(``render``, ``sources``), and applying them to a cluster's Kubernetes API.

A layer beside ``orbit.runtime`` and ``orbit.providers``: it imports only the resource model,
templating, the store contract, config and errors; admission and controllers import it.
"""
