"""Talking to a cluster's Kubernetes API: clients per cluster, resource lookup, typed errors.

:class:`KubeClient` wraps one ``lightkube.AsyncClient`` and speaks in plain dicts, whatever the
kind: each ``(apiVersion, kind)`` becomes a lightkube generic resource class of its own (never
registered globally, so two clusters cannot disagree through lightkube's registry). Plural and
scope come from lightkube's built-in models for the standard kinds and from the cluster's
discovery (``/apis/<group>/<version>``) for custom ones; a kind neither knows is guessed as
kubectl does (lower-case plural; cluster-scoped only for the kinds in
:data:`~orbit.delivery.inventory.CLUSTER_SCOPED_KINDS`).

:class:`ClusterClients` keeps one KubeClient per cluster uid, built from the kubeconfig the
cluster's provider hands out (fetched through a loader the controller gives it, so this package
needs no provider); it is dropped (and rebuilt on next use) when the cluster rejects
our credentials, and every client is closed on shutdown.

Every failure becomes a :class:`DeliveryError` with the Kubernetes ``Status.reason``
(``Conflict`` for a field-manager conflict, ``Invalid``, ``Forbidden``...); ``transient`` says
whether trying again later may help (unreachable API, 5xx, 429, 401 after a token change).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import lightkube
import yaml
from lightkube.config import client_adapter
from lightkube.core import resource as lk_resource
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource
from lightkube.types import PatchType

from orbit.api import v1alpha1
from orbit.delivery.inventory import CLUSTER_SCOPED_KINDS

log = logging.getLogger("orbit.delivery")

DEFAULT_TIMEOUT = 10.0
UNREACHABLE = "ClusterUnreachable"

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_VERBS = ["delete", "get", "list", "patch", "post", "put"]


class DeliveryError(Exception):
    """A cluster refused or failed a request. ``reason`` is the Kubernetes Status reason (or
    ``ClusterUnreachable``), ``code`` the HTTP status (0 without a response)."""

    def __init__(self, reason: str, message: str, *, code: int = 0, transient: bool = False):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.code = code
        self.transient = transient


def translate(exc: Exception) -> DeliveryError:
    """The DeliveryError for what lightkube or the HTTP layer raised."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, lightkube.ApiError):
        code = int(exc.status.code or exc.response.status_code)
        reason = exc.status.reason or _REASONS.get(code, "InternalError")
        return _error(code, reason, exc.status.message or str(exc))
    if isinstance(exc, httpx2.HTTPStatusError):
        code = exc.response.status_code
        body = exc.response.text.strip()[:300]
        return _error(code, _REASONS.get(code, "InternalError"), body or str(exc))
    if isinstance(exc, httpx2.TransportError):
        detail = str(exc) or type(exc).__name__
        return DeliveryError(UNREACHABLE, f"cluster API unreachable: {detail}", transient=True)
    if isinstance(exc, lightkube.ConfigError):
        return DeliveryError("InvalidKubeconfig", str(exc))
    return DeliveryError("InternalError", f"{type(exc).__name__}: {exc}")


def _error(code: int, reason: str, message: str) -> DeliveryError:
    transient = code in (401, 429) or code >= 500
    return DeliveryError(reason, message, code=code, transient=transient)


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except (lightkube.ApiError, httpx2.HTTPError, lightkube.ConfigError) as exc:
        raise translate(exc) from exc


def _generic_class(
    group: str, version: str, kind: str, plural: str, *, namespaced: bool
) -> type[lk_resource.Resource]:
    info = lk_resource.ApiInfo(
        resource=lk_resource.ResourceDef(group, version, kind), plural=plural, verbs=_VERBS
    )
    base_cls = GenericNamespacedResource if namespaced else GenericGlobalResource
    return type(kind, (base_cls,), {"_api_info": info})


def guess_plural(kind: str) -> str:
    """kubectl's guess of a resource's plural when discovery cannot tell."""
    low = kind.lower()
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return f"{low}es"
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{low[:-1]}ies"
    return f"{low}s"


class KubeClient:
    """One cluster's Kubernetes API, in dicts. ``api`` is the lightkube client underneath."""

    def __init__(self, config: lightkube.KubeConfig, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._config = config
        self._timeout = timeout
        self.api = lightkube.AsyncClient(
            config=config, trust_env=False, timeout=httpx2.Timeout(timeout)
        )
        self._classes: dict[tuple[str, str], type[lk_resource.Resource]] = {}
        self._discovery: httpx2.AsyncClient | None = None

    @classmethod
    def from_kubeconfig(cls, data: bytes | str, *, timeout: float = DEFAULT_TIMEOUT) -> KubeClient:
        """A client for the current context of a kubeconfig document."""
        try:
            config = lightkube.KubeConfig.from_dict(yaml.safe_load(data))
            return cls(config, timeout=timeout)
        except (yaml.YAMLError, KeyError, TypeError, ValueError, lightkube.ConfigError) as exc:
            raise DeliveryError("InvalidKubeconfig", f"unusable kubeconfig: {exc}") from exc

    async def close(self) -> None:
        await self.api.close()
        if self._discovery is not None:
            await self._discovery.aclose()

    # -- resource classes ---------------------------------------------------------------------

    async def resource(self, api_version: str, kind: str) -> type[lk_resource.Resource]:
        """The (dict-speaking) resource class of ``apiVersion``/``kind`` on this cluster."""
        key = (api_version, kind)
        found = self._classes.get(key)
        if found is not None:
            return found
        group, _, version = api_version.rpartition("/")
        described = self._builtin(api_version, kind) or await self._discover(api_version, kind)
        if described is None:
            plural, namespaced = guess_plural(kind), kind not in CLUSTER_SCOPED_KINDS
            cacheable = False
        else:
            (plural, namespaced), cacheable = described, True
        cls = _generic_class(group, version, kind, plural, namespaced=namespaced)
        if cacheable:
            self._classes[key] = cls
        return cls

    def is_namespaced(self, cls: type[lk_resource.Resource]) -> bool:
        return issubclass(cls, lk_resource.NamespacedResource)

    @staticmethod
    def _builtin(api_version: str, kind: str) -> tuple[str, bool] | None:
        try:
            model = resource_registry.load(api_version, kind)
        except (lightkube.LoadResourceError, ImportError, ValueError):
            return None
        info = lk_resource.api_info(model)
        return info.plural, issubclass(model, lk_resource.NamespacedResource)

    async def _discover(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        """Plural and scope from the cluster's discovery document; None if it has no answer
        (misses are not cached: a CRD applied a moment ago must be found next time)."""
        if self._discovery is None:
            single = self._config.get()
            assert single is not None
            params = client_adapter.ConnectionParams(
                timeout=httpx2.Timeout(self._timeout), trust_env=False
            )
            self._discovery = client_adapter.AsyncClient(single, params)
        path = f"apis/{api_version}" if "/" in api_version else f"api/{api_version}"
        try:
            response = await self._discovery.get(path)
        except httpx2.HTTPError as exc:
            raise translate(exc) from exc
        if response.status_code != 200:
            return None
        try:
            resources = response.json().get("resources") or []
        except ValueError:
            return None
        for entry in resources:
            if entry.get("kind") == kind and "/" not in str(entry.get("name", "/")):
                return str(entry["name"]), bool(entry.get("namespaced", True))
        return None

    # -- verbs --------------------------------------------------------------------------------

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The live object, or None if it does not exist."""
        cls: Any = await self.resource(api_version, kind)  # lightkube's overloads want a model
        try:
            async with _translated():
                obj = await self.api.get(cls, name, namespace=self._ns(cls, namespace))
        except DeliveryError as err:
            if err.code == 404:
                return None
            raise
        return _plain(obj)

    async def apply(
        self, manifest: Mapping[str, Any], *, field_manager: str, force: bool = False
    ) -> dict[str, Any]:
        """Server-side apply ``manifest``; returns the object as the cluster stored it."""
        cls: Any = await self.resource(str(manifest["apiVersion"]), str(manifest["kind"]))
        meta = manifest.get("metadata") or {}
        async with _translated():
            obj = await self.api.patch(
                cls,
                str(meta["name"]),
                dict(manifest),
                namespace=self._ns(cls, meta.get("namespace")),
                patch_type=PatchType.APPLY,
                field_manager=field_manager,
                force=force,
            )
        return _plain(obj)

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool:
        """Delete the object; False if it did not exist."""
        cls: Any = await self.resource(api_version, kind)  # lightkube's overloads want a model
        try:
            async with _translated():
                await self.api.delete(cls, name, namespace=self._ns(cls, namespace))
        except DeliveryError as err:
            if err.code == 404:
                return False
            raise
        return True

    def _ns(self, cls: type[lk_resource.Resource], namespace: str | None) -> str | None:
        if not self.is_namespaced(cls):
            return None
        return namespace or "default"


def _plain(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    return dict(obj)


KubeconfigLoader = Callable[[v1alpha1.ClusterDeployment, v1alpha1.Credential], Awaitable[bytes]]
"""Fetches a cluster's kubeconfig (from its provider); raises DeliveryError when it cannot."""


class ClusterClients:
    """One :class:`KubeClient` per cluster uid, from the kubeconfig ``load`` fetches (the
    provider's, as wired by the controller); see the module docstring. ``close()`` on
    shutdown."""

    def __init__(self, load: KubeconfigLoader, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._load = load
        self._timeout = timeout
        self._clients: dict[str, KubeClient] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(
        self, cluster: v1alpha1.ClusterDeployment, credential: v1alpha1.Credential
    ) -> KubeClient:
        """The client of ``cluster`` (built on first use)."""
        uid = cluster.metadata.uid or ""
        client = self._clients.get(uid)
        if client is not None:
            return client
        lock = self._locks.setdefault(uid, asyncio.Lock())
        async with lock:
            client = self._clients.get(uid)
            if client is None:
                log.debug("Building a client for cluster %s", cluster.metadata.name)
                data = await self._load(cluster, credential)
                client = KubeClient.from_kubeconfig(data, timeout=self._timeout)
                self._clients[uid] = client
        return client

    async def invalidate(self, uid: str) -> None:
        """Forget the client of ``uid`` (its credentials were refused, or the cluster went)."""
        client = self._clients.pop(uid, None)
        self._locks.pop(uid, None)
        if client is not None:
            await client.close()

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        self._locks.clear()
        for client in clients:
            await client.close()
