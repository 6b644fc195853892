"""Infrastructure providers: the contract (``base``), the registry of plug-ins (``registry``)
and the providers that ship with Orbit (``sim``, over the simulated Cluster Plane).

Import the modules, not names from this package: ``from orbit.providers import base``.
"""
