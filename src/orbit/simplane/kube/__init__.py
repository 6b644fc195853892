"""The Kubernetes API of each simulated cluster, enough of it that kubectl and lightkube work.

Served under ``{endpoint_base}/{uid}/k8s`` (``SimPlane.endpoint``), authenticated by the
cluster's bearer token, stored in the plane's own database next to the clusters
(``simplane_objects``), and deleted with the cluster. Modules, from the outside in:

- ``http``: the FastAPI route; ``service``: :class:`KubeAPI`, auth, setup, documents, dispatch;
  ``handlers``: the verbs; ``store``: write transactions (per-cluster lock, resourceVersion
  counter) and ``cache``, the workload rows of recent clusters; ``watch``: watches by polling.
- ``routing``: URL paths; ``discovery``: /version, /api, /apis, OpenAPI v3; ``tables``: kubectl's
  server-side printing; ``errors``: Status bodies worded like the API server's.
- ``reads`` / ``writes``: objects as clients see them, and the write verbs (create, PUT, merge,
  strategic and JSON patches, server-side apply with ``fields``' managedFields, delete).
- ``kinds``: built-in types plus each cluster's CRDs; ``prepare``: per-kind defaults and checks;
  ``objects``: the ``simplane_objects`` rows; ``meta``, ``quantity``, ``patches``: helpers.
- ``workloads`` (write side) and ``simulation``/``pods``/``nodes`` (read side): pods of
  Deployments, StatefulSets and DaemonSets, scheduled on the cluster's nodes and Ready after
  ``pod_latency``, computed on read from persisted times, with no background loop.

kubectl sends bearer tokens over HTTPS only: serve the endpoint with TLS and give the plane the
certificate authority (``SimPlaneSettings.endpoint_ca``) for kubectl; lightkube and other
clients authenticate over plain HTTP too.
"""

from __future__ import annotations

from orbit.simplane.kube.service import KubeAPI, Request

__all__ = ["KubeAPI", "Request"]
