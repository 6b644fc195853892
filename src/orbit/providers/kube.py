"""A provider's session with a Kubernetes API it drives (a Cluster API management cluster).

Providers may not import ``orbit.delivery`` (the layers are independent), so this is the small
part of it they need, over lightkube: a session opened from a kubeconfig (no proxy from the
environment, a bounded timeout, the kubeconfig's TLS settings), objects as plain dicts, kinds
resolved from the cluster's discovery documents, and every failure turned into a provider
error. One session lives for one provider call; nothing is kept between calls.

Errors, so the controller knows whether to retry::

    unreachable, 5xx, 429, 409 (a write raced another)  -> ProviderTransientError
    401, 403, 400, 422, an unusable kubeconfig            -> ProviderPermanentError

The kubeconfig holds secrets: no message built here contains any part of it (a YAML error is
reported by its kind only, since PyYAML quotes the text around the fault).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import lightkube
import yaml
from lightkube.config import client_adapter
from lightkube.core import resource as lk_resource
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

from orbit.providers.base import ProviderError, ProviderPermanentError, ProviderTransientError

log = logging.getLogger("orbit.providers.kube")

DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Kind:
    """A namespaced resource type as the cluster serves it."""

    api_version: str
    kind: str
    plural: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def resource(self) -> type[lk_resource.NamespacedResource]:
        return create_namespaced_resource(self.group, self.version, self.kind, self.plural)


class Session:
    """One open connection to a cluster's API; see the module docstring."""

    def __init__(self, config: lightkube.KubeConfig, *, what: str, timeout: float) -> None:
        single = config.get()
        if single is None:
            raise ProviderPermanentError(f"{what}: the kubeconfig has no current context")
        self.what = what
        self.api = lightkube.AsyncClient(
            config=single, trust_env=False, timeout=httpx2.Timeout(timeout)
        )
        params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(timeout), trust_env=False)
        self._http = client_adapter.AsyncClient(single, params)

    async def close(self) -> None:
        await self.api.close()
        await self._http.aclose()

    # -- discovery ----------------------------------------------------------------------------

    async def served(self, wanted: Iterable[tuple[str, str]]) -> tuple[dict[str, Kind], list[str]]:
        """The namespaced kinds among ``wanted`` (apiVersion, kind) that the cluster serves, by
        ``apiVersion/kind``, and the ``apiVersion/kind`` of those it does not."""
        by_version: dict[str, set[str]] = {}
        for api_version, kind in wanted:
            by_version.setdefault(api_version, set()).add(kind)
        found: dict[str, Kind] = {}
        missing: list[str] = []
        for api_version, kinds in sorted(by_version.items()):
            listed = await self._discover(api_version)
            for kind in sorted(kinds):
                plural = listed.get(kind)
                key = f"{api_version}/{kind}"
                if plural is None:
                    missing.append(key)
                else:
                    found[key] = Kind(api_version, kind, plural)
        return found, missing

    async def _discover(self, api_version: str) -> dict[str, str]:
        """Plural by kind of the namespaced resources of one group version (empty if none)."""
        path = f"apis/{api_version}" if "/" in api_version else f"api/{api_version}"
        try:
            response = await self._http.get(path)
        except httpx2.HTTPError as exc:
            raise self._translate(exc, f"discover {api_version}") from exc
        if response.status_code == 404:
            return {}
        if response.status_code != 200:
            raise self._status_error(
                response.status_code, response.text.strip()[:300], f"discover {api_version}"
            )
        try:
            resources = response.json().get("resources") or []
        except ValueError:
            return {}
        return {
            str(entry["kind"]): str(entry["name"])
            for entry in resources
            if "/" not in str(entry.get("name", "/")) and entry.get("namespaced", True)
        }

    # -- verbs --------------------------------------------------------------------------------

    async def apply(self, kind: Kind, manifest: Mapping[str, Any], *, field_manager: str) -> None:
        """Server-side apply ``manifest``, owning its fields (``force``: Orbit is their owner)."""
        meta = manifest["metadata"]
        cls: Any = kind.resource()
        doing = f"apply {kind.kind} {meta['namespace']}/{meta['name']}"
        try:
            async with self._translated(doing):
                await self.api.patch(
                    cls,
                    str(meta["name"]),
                    dict(manifest),
                    namespace=str(meta["namespace"]),
                    patch_type=PatchType.APPLY,
                    field_manager=field_manager,
                    force=True,
                )
        except _NotFound as missing:  # the kind was discovered: it is the namespace
            raise ProviderPermanentError(
                f"{self.what}: {doing}: {missing} (create namespace {meta['namespace']} there, "
                "or name another one)"
            ) from None

    async def get(self, kind: Kind, name: str, namespace: str) -> dict[str, Any] | None:
        cls: Any = kind.resource()
        try:
            async with self._translated(f"get {kind.kind} {namespace}/{name}"):
                obj = await self.api.get(cls, name, namespace=namespace)
        except _NotFound:
            return None
        return _plain(obj)

    async def list(
        self, kind: Kind, namespace: str, labels: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        cls: Any = kind.resource()
        async with self._translated(f"list {kind.plural} in {namespace}"):
            return [
                _plain(obj)
                async for obj in self.api.list(cls, namespace=namespace, labels=dict(labels))
            ]

    async def delete(self, kind: Kind, name: str, namespace: str) -> bool:
        """Delete (or start deleting) the object; False if it was not there."""
        cls: Any = kind.resource()
        try:
            async with self._translated(f"delete {kind.kind} {namespace}/{name}"):
                await self.api.delete(cls, name, namespace=namespace)
        except _NotFound:
            return False
        return True

    async def get_secret(self, name: str, namespace: str) -> dict[str, str] | None:
        """The ``data`` (base64 values) of a Secret, or None if it does not exist."""
        try:
            async with self._translated(f"get Secret {namespace}/{name}"):
                secret = await self.api.get(Secret, name, namespace=namespace)
        except _NotFound:
            return None
        return dict(secret.data or {})

    # -- errors -------------------------------------------------------------------------------

    @asynccontextmanager
    async def _translated(self, doing: str) -> AsyncIterator[None]:
        try:
            yield
        except lightkube.ApiError as exc:
            code = int(exc.status.code or exc.response.status_code)
            if code == 404:
                raise _NotFound(exc.status.message or "not found") from exc
            raise self._status_error(code, exc.status.message or str(exc), doing) from exc
        except (httpx2.HTTPError, lightkube.ConfigError) as exc:
            raise self._translate(exc, doing) from exc

    def _translate(self, exc: Exception, doing: str) -> ProviderError:
        if isinstance(exc, httpx2.HTTPStatusError):
            code = exc.response.status_code
            return self._status_error(code, exc.response.text.strip()[:300], doing)
        if isinstance(exc, httpx2.TransportError):
            detail = str(exc) or type(exc).__name__
            return ProviderTransientError(f"{self.what} is unreachable ({doing}): {detail}")
        return ProviderPermanentError(f"{self.what}: {doing}: {type(exc).__name__}")

    def _status_error(self, code: int, message: str, doing: str) -> ProviderError:
        text = f"{self.what}: {doing}: HTTP {code}: {message}"
        if code in (409, 429) or code >= 500:
            return ProviderTransientError(text)
        if code == 401:
            return ProviderPermanentError(
                f"{text} (the management cluster refused the credential's kubeconfig: "
                "update its secret 'kubeconfig')"
            )
        if code == 403:
            return ProviderPermanentError(
                f"{text} (grant the kubeconfig's identity this permission on the "
                "management cluster)"
            )
        return ProviderPermanentError(text)


class _NotFound(Exception):
    """A 404 from a verb; the verbs turn it into None/False."""


@asynccontextmanager
async def session(
    kubeconfig: bytes | str, *, what: str, request_timeout: float = DEFAULT_TIMEOUT
) -> AsyncIterator[Session]:
    """A :class:`Session` from a kubeconfig document, closed on exit. ``what`` names the
    cluster in messages ("management cluster of credential x"); every request is bounded by
    ``request_timeout`` seconds."""
    try:
        loaded = yaml.safe_load(kubeconfig)
        if not isinstance(loaded, dict):
            raise ValueError("not a mapping")
        config = lightkube.KubeConfig.from_dict(loaded)
        opened = Session(config, what=what, timeout=request_timeout)
    except ProviderPermanentError:
        raise
    except (
        yaml.YAMLError,
        KeyError,
        TypeError,
        ValueError,
        OSError,
        lightkube.ConfigError,
    ) as exc:
        # Only the kind of fault: PyYAML's messages quote the (secret) text around it.
        raise ProviderPermanentError(
            f"{what}: the kubeconfig is unusable ({type(exc).__name__})"
        ) from None
    try:
        yield opened
    finally:
        await opened.close()


def _plain(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    return dict(obj)
