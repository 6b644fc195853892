"""OrbitClient: a typed, synchronous client for the Orbit REST API (docs: API.md).

One method per verb, typed by the v1alpha1 class it is given (``client.get(v1alpha1.
ClusterDeployment, "dev")`` returns a ``ClusterDeployment``). Errors come back as the domain
errors the server raised (see ``orbit.client.errors``), so callers never look at HTTP codes.
Synchronous on purpose: the CLI and users' scripts are sequential, and httpx's ``transport``
hook lets tests swap the network for ``httpx.MockTransport`` or an in-process app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar
from urllib.parse import quote

import httpx

from orbit.api import v1alpha1
from orbit.client import apply as _apply
from orbit.client import config as _config
from orbit.client.errors import ConnectionFailed, NotFoundError, from_response, from_status

R = TypeVar("R", bound=v1alpha1.Resource)

DEFAULT_SERVER = "http://127.0.0.1:8420"
DEFAULT_NAMESPACE = "default"
PREFIX = f"/apis/{v1alpha1.GROUP}/{v1alpha1.VERSION}"
MERGE_PATCH = "application/merge-patch+json"

# Watches idle for up to ~10 s between BOOKMARKs; a read that waits much longer than that means
# the server or the network is gone.
_WATCH_READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a list: typed items, the store revision it was read at, and the token
    for the next page (None on the last)."""

    items: list[R]
    revision: str
    continue_token: str | None = None


class WatchEvent(NamedTuple, Generic[R]):
    """One change: ``type`` is ADDED, MODIFIED or DELETED; ``object`` the object after it."""

    type: str
    object: R


def resolve_server(server: str | None = None) -> str:
    """The server URL: the argument, else ``$ORBIT_SERVER``, else the local default."""
    url = (server or os.environ.get("ORBIT_SERVER") or DEFAULT_SERVER).strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def collection_path(cls: type[v1alpha1.Resource], namespace: str | None) -> str:
    """The URL path of a kind's collection; all namespaces when ``namespace`` is None."""
    if not cls.NAMESPACED or namespace is None:
        return f"{PREFIX}/{cls.PLURAL}"
    return f"{PREFIX}/namespaces/{quote(namespace, safe='')}/{cls.PLURAL}"


def object_path(cls: type[v1alpha1.Resource], name: str, namespace: str | None) -> str:
    if cls.NAMESPACED and not namespace:
        raise ValueError(f"{cls.KIND} is namespaced: give a namespace for {name!r}")
    return f"{collection_path(cls, namespace)}/{quote(name, safe='')}"


class OrbitClient:
    """Talks to one Orbit server. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        server: str | None = None,
        *,
        token: str | None = None,
        context: str | None = None,
        timeout: float = 30,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        server, token = _config.resolve(server, token, context)
        self.server = resolve_server(server)
        self.token = token
        self.timeout = timeout
        headers = {"Accept": "application/json", "User-Agent": "orbit-client/0.1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.server, timeout=timeout, transport=transport, headers=headers
        )

    def __enter__(self) -> OrbitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        """Send one request; raise the matching ApiError on an error answer and
        ConnectionFailed when there is no answer."""
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else None
        try:
            response = self._http.request(
                method, path, params=_clean(params), content=content, headers=headers
            )
        except httpx.TransportError as exc:
            raise ConnectionFailed(self.server, _describe(exc, self.timeout)) from exc
        if response.is_error:
            raise from_response(response)
        return response

    def get_json(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """GET any path and return the decoded JSON (for endpoints outside the typed kinds)."""
        return self.request("GET", path, params=params).json()

    # -- typed verbs ----------------------------------------------------------------------

    def get(self, cls: type[R], name: str, *, namespace: str = DEFAULT_NAMESPACE) -> R:
        return cls.model_validate(self.get_json(object_path(cls, name, namespace)))

    def list(
        self,
        cls: type[R],
        *,
        namespace: str | None = None,
        selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page[R]:
        """One page of objects of a kind; ``namespace=None`` lists every namespace."""
        body = self.get_json(
            collection_path(cls, namespace),
            params={"labelSelector": selector, "limit": limit, "continue": continue_token},
        )
        meta = body.get("metadata") or {}
        return Page(
            items=[cls.model_validate(item) for item in body.get("items") or []],
            revision=str(meta.get("resourceVersion") or "0"),
            continue_token=meta.get("continue") or None,
        )

    def iter_all(
        self,
        cls: type[R],
        *,
        namespace: str | None = None,
        selector: str | None = None,
        limit: int | None = 500,
    ) -> Iterator[R]:
        """Every matching object, following ``continue`` tokens page by page."""
        token: str | None = None
        while True:
            page = self.list(
                cls, namespace=namespace, selector=selector, limit=limit, continue_token=token
            )
            yield from page.items
            token = page.continue_token
            if not token:
                return

    def list_all(
        self,
        cls: type[R],
        *,
        namespace: str | None = None,
        selector: str | None = None,
        limit: int | None = 500,
    ) -> Page[R]:
        """Every matching object as one page, at the revision of the first page (so a watch
        from that revision misses nothing)."""
        first = self.list(cls, namespace=namespace, selector=selector, limit=limit)
        items = list(first.items)
        token = first.continue_token
        while token:
            page = self.list(
                cls, namespace=namespace, selector=selector, limit=limit, continue_token=token
            )
            items.extend(page.items)
            token = page.continue_token
        return Page(items=items, revision=first.revision)

    def create(self, obj: R, *, namespace: str = DEFAULT_NAMESPACE) -> R:
        """Create ``obj`` in its own namespace (``namespace`` when its metadata has none)."""
        cls = type(obj)
        return self.create_raw(cls, obj.to_dict(), namespace=obj.metadata.namespace or namespace)

    def create_raw(
        self, cls: type[R], body: dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> R:
        """Create from a plain dict (a manifest), so the server validates it and names the
        fields it rejects."""
        path = collection_path(cls, namespace if cls.NAMESPACED else None)
        response = self.request("POST", path, body=_without_status(cls, body))
        return cls.model_validate(response.json())

    def replace(self, obj: R) -> R:
        """PUT ``obj``; its ``metadata.resourceVersion`` makes the write conditional."""
        return self.replace_raw(type(obj), obj.to_dict())

    def replace_raw(self, cls: type[R], body: dict[str, Any]) -> R:
        meta = body.get("metadata") or {}
        path = object_path(cls, meta["name"], meta.get("namespace") or DEFAULT_NAMESPACE)
        response = self.request("PUT", path, body=_without_status(cls, body))
        return cls.model_validate(response.json())

    def replace_status(self, obj: R) -> R:
        """PUT the status subresource (for controllers and tests acting as one)."""
        cls = type(obj)
        path = object_path(cls, obj.metadata.name, obj.metadata.namespace or DEFAULT_NAMESPACE)
        return cls.model_validate(self.request("PUT", f"{path}/status", body=obj.to_dict()).json())

    def patch(
        self, cls: type[R], name: str, patch: dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> R:
        """RFC 7386 merge patch of the object (``None`` values delete keys)."""
        path = object_path(cls, name, namespace)
        response = self.request("PATCH", path, body=patch, content_type=MERGE_PATCH)
        return cls.model_validate(response.json())

    def patch_status(
        self, cls: type[R], name: str, patch: dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> R:
        path = f"{object_path(cls, name, namespace)}/status"
        response = self.request("PATCH", path, body=patch, content_type=MERGE_PATCH)
        return cls.model_validate(response.json())

    def delete(
        self,
        cls: type[R],
        name: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        missing_ok: bool = False,
    ) -> R | None:
        """Delete; return the object's last state (it may linger with ``deletionTimestamp``
        while finalizers run), or None when the server answered with a bare Status or, with
        ``missing_ok``, when it was already gone."""
        try:
            body = self.request("DELETE", object_path(cls, name, namespace)).json()
        except NotFoundError:
            if missing_ok:
                return None
            raise
        if isinstance(body, dict) and body.get("kind", cls.KIND) == cls.KIND:
            return cls.model_validate(body)
        return None

    def watch(
        self,
        cls: type[R],
        *,
        namespace: str | None = None,
        selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
    ) -> Iterator[WatchEvent[R]]:
        """Follow changes of a kind as they happen. Without ``resource_version`` the stream
        opens with ADDED for every current object. BOOKMARKs are swallowed; an ERROR event
        raises its error (GoneError when ``resource_version`` is too old). Ends when the
        server ends the stream (``timeout_seconds``) or the caller stops iterating."""
        params = {
            "watch": "true",
            "labelSelector": selector,
            "resourceVersion": resource_version,
            "timeoutSeconds": timeout_seconds,
        }
        timeout = httpx.Timeout(self.timeout, read=max(self.timeout, _WATCH_READ_TIMEOUT))
        try:
            with self._http.stream(
                "GET", collection_path(cls, namespace), params=_clean(params), timeout=timeout
            ) as response:
                if response.is_error:
                    response.read()
                    raise from_response(response)
                for line in response.iter_lines():
                    event = parse_watch_line(cls, line)
                    if event is not None:
                        yield event
        except httpx.TransportError as exc:
            raise ConnectionFailed(self.server, _describe(exc, self.timeout)) from exc

    def apply(
        self, doc: dict[str, Any], *, namespace: str = DEFAULT_NAMESPACE
    ) -> tuple[str, v1alpha1.Resource]:
        """Make the server hold ``doc`` (a manifest): returns ('created' | 'configured' |
        'unchanged', the object now stored). See ``orbit.client.apply``."""
        return _apply.apply(self, doc, namespace=namespace)

    # -- outside the typed kinds ----------------------------------------------------------

    def kubeconfig(self, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> str:
        """A kubeconfig for the cluster ``name`` (YAML text)."""
        path = object_path(v1alpha1.ClusterDeployment, name, namespace) + "/kubeconfig"
        return self.request("GET", path).text

    def whoami(self) -> dict[str, Any]:
        """The caller's identity: user, groups, token scopes and roles."""
        data: dict[str, Any] = self.get_json("/auth/v1/whoami")
        return data

    def create_token(
        self,
        *,
        user: str | None = None,
        scopes: tuple[str, ...] = (),
        ttl_hours: float | None = None,
        description: str = "",
    ) -> dict[str, Any]:
        """Issue a token; the result's ``token`` is the secret, shown this once."""
        body: dict[str, Any] = {"description": description}
        if user:
            body["user"] = user
        if scopes:
            body["scopes"] = list(scopes)
        if ttl_hours:
            body["ttlHours"] = ttl_hours
        data: dict[str, Any] = self.request("POST", "/auth/v1/tokens", body=body).json()
        return data

    def list_tokens(self, *, user: str | None = None, all: bool = False) -> Any:
        """Tokens (no secrets): the caller's, ``user``'s, or with ``all`` everyone's."""
        params = {"user": user, "all": "true" if all else None}
        return self.get_json("/auth/v1/tokens", params=params)["items"]

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        path = f"/auth/v1/tokens/{quote(token_id, safe='')}"
        data: dict[str, Any] = self.request("DELETE", path).json()
        return data

    def rotate_key(self, *, rewrap_only: bool = False) -> dict[str, Any]:
        """Re-encrypt every secret under a new key-encryption key (``rewrap_only``: under the
        current one, to finish an interrupted rotation); returns the server's report
        (primary, rewrapped, retired, kept, failed, remaining)."""
        params = {"rewrapOnly": "true"} if rewrap_only else None
        data: dict[str, Any] = self.request("POST", "/admin/v1/rotate-key", params=params).json()
        return data

    def oidc_info(self) -> dict[str, Any]:
        """Whether the server offers OIDC login (``enabled``), and its ``issuer``."""
        data: dict[str, Any] = self.get_json("/auth/v1/oidc")
        return data

    def oidc_exchange(self, code: str) -> dict[str, Any]:
        """Redeem the one-time code of an OIDC login for an API token (``token``)."""
        data: dict[str, Any] = self.request(
            "POST", "/auth/v1/oidc/exchange", body={"code": code}
        ).json()
        return data

    def healthz(self) -> str:
        """``ok`` when the server process answers; raises otherwise."""
        return self.request("GET", "/healthz").text

    def readyz(self) -> str:
        """Returns when the store answers and controllers run; UnavailableError otherwise."""
        return self.request("GET", "/readyz").text

    def audit_records(self, **filters: Any) -> AuditRecords:
        """Audit records, newest first (oldest first with ``after_seq``). Filters: actor, verb,
        resource, namespace, name, outcome, since, until (datetimes or RFC 3339 text), limit
        (1-1000), after_seq, before_seq."""
        params = {_AUDIT_PARAMS.get(k, k): _query_value(v) for k, v in filters.items()}
        items: AuditRecords = self.get_json("/audit/v1/records", params=params)["items"]
        return items

    def audit_verify(self, *, anchor: str | None = None) -> dict[str, Any]:
        """Walk the audit log's hash chain: ``intact``, ``records``, ``head`` {seq, hash} and,
        when broken, ``broken`` {seq, problem, message}. ``anchor``: ``SEQ:HASH`` of a head
        recorded earlier, which must still match."""
        report: dict[str, Any] = self.get_json("/audit/v1/verify", params={"anchor": anchor})
        return report


def parse_watch_line(cls: type[R], line: str) -> WatchEvent[R] | None:
    """Decode one NDJSON watch line: an event, None for blank lines and BOOKMARKs, or raise
    the error an ERROR event carries."""
    line = line.strip()
    if not line:
        return None
    event = json.loads(line)
    kind = event.get("type")
    obj = event.get("object") or {}
    if kind == "BOOKMARK":
        return None
    if kind == "ERROR":
        raise from_status(obj)
    return WatchEvent(str(kind), cls.model_validate(obj))


def _without_status(cls: type[v1alpha1.Resource], body: dict[str, Any]) -> dict[str, Any]:
    # Status is written only through the status subresource; sending it would be ignored at
    # best, and an old copy must never look like intent.
    if cls.HAS_STATUS and "status" in body:
        return {k: v for k, v in body.items() if k != "status"}
    return body


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None and v != ""}


def _describe(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g}s"
    text = str(exc).strip()
    if "Connection refused" in text or "connection refused" in text.lower():
        return "connection refused"
    return text or type(exc).__name__


AuditRecords = list[dict[str, Any]]
_AUDIT_PARAMS = {"after_seq": "afterSeq", "before_seq": "beforeSeq"}


def _query_value(value: Any) -> Any:
    """A datetime as RFC 3339 text (UTC when naive); anything else as it is."""
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.isoformat().replace("+00:00", "Z")
    return value
