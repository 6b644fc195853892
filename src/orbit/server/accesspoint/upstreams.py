"""The AccessPoint's side toward the clusters: one pooled HTTPS client per cluster.

An :class:`Upstream` is what Orbit needs to reach one cluster's Kubernetes API: the server URL
from the cluster's kubeconfig, an ``httpx.AsyncClient`` that verifies the server against the
kubeconfig's certificate authority and presents the cluster's admin credential (a bearer
token, basic auth, or a client certificate), and a count of the requests using it.

:class:`Upstreams` keeps one per cluster uid, built on first use from the kubeconfig a loader
returns (the cluster's provider's, or the sealed copy in the store), so connections to a
cluster are reused across callers. An upstream whose credential the cluster refuses, or whose
server stops answering, is retired: the next request builds a fresh one (a rotated credential
or a moved endpoint is picked up), and the old client closes once its last stream ends. A
cluster uid (not its name) keys the pool, so a cluster deleted and created again under the same
name never reaches the old endpoint.

The credential stays here: it is never logged, and the proxy strips nothing of it into a reply.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from orbit import errors

log = logging.getLogger(__name__)

KubeconfigLoader = Callable[[bool], Awaitable[bytes]]
"""Fetches one cluster's admin kubeconfig; the argument (``refresh``) says not to trust a cached
copy. Raises an orbit error when there is none yet."""


@dataclass(frozen=True)
class Target:
    """Where a kubeconfig points and how to authenticate there (never shown to anyone)."""

    server: str
    ssl: ssl.SSLContext
    headers: dict[str, str] = field(repr=False)
    sni: str | None = None


def _section(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for entry in doc.get(f"{kind}s") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(kind)
            return body if isinstance(body, dict) else {}
    raise ValueError(f"no {kind} named {name!r}")


def _pem(data: str) -> str:
    return base64.b64decode(data).decode()


def _load_client_cert(context: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """ssl only loads a certificate chain from files: write both to a private temporary
    directory, load them, and remove them at once."""
    with tempfile.TemporaryDirectory(prefix="orbit-accesspoint-") as folder:
        cert_path, key_path = os.path.join(folder, "tls.crt"), os.path.join(folder, "tls.key")
        for path, text in ((cert_path, cert_pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        context.load_cert_chain(cert_path, key_path)


def parse_kubeconfig(data: bytes | str) -> Target:
    """The server, trust and credential of a kubeconfig's current context.

    Supported: ``certificate-authority-data``, ``insecure-skip-tls-verify``, ``tls-server-name``;
    users with ``token``, ``username``/``password`` or ``client-certificate-data``/
    ``client-key-data``. Anything else (file paths, exec plugins) is a ValueError: a provider's
    kubeconfig for Orbit must be self-contained."""
    doc = yaml.safe_load(data)
    if not isinstance(doc, dict):
        raise ValueError("not a kubeconfig document")
    contexts = doc.get("contexts") or []
    name = doc.get("current-context") or (contexts[0].get("name") if contexts else None)
    if not name:
        raise ValueError("the kubeconfig has no context")
    context = _section(doc, "context", str(name))
    cluster = _section(doc, "cluster", str(context.get("cluster")))
    user = _section(doc, "user", str(context.get("user")))
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise ValueError("the kubeconfig's cluster has no http(s) server")
    tls = ssl.create_default_context()
    if cluster.get("certificate-authority-data"):
        tls = ssl.create_default_context(cadata=_pem(cluster["certificate-authority-data"]))
    elif cluster.get("certificate-authority"):
        raise ValueError("certificate-authority files are not supported; embed the data")
    if cluster.get("insecure-skip-tls-verify"):
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    headers: dict[str, str] = {}
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    elif user.get("username") is not None and user.get("password") is not None:
        basic = base64.b64encode(f"{user['username']}:{user['password']}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    if user.get("client-certificate-data") and user.get("client-key-data"):
        _load_client_cert(tls, _pem(user["client-certificate-data"]), _pem(user["client-key-data"]))
    elif not headers:
        raise ValueError("the kubeconfig's user has no token, basic auth or client certificate")
    sni = cluster.get("tls-server-name")
    return Target(server.rstrip("/"), tls, headers, str(sni) if sni else None)


@dataclass(eq=False)
class Upstream:
    """One cluster's pooled client; ``active`` counts the requests (and streams) using it."""

    uid: str
    server: str
    client: httpx.AsyncClient
    sni: str | None = None
    active: int = 0
    retired: bool = False
    closed: bool = False

    def url(self, path: str, query: bytes = b"") -> str:
        """The upstream URL of Kubernetes ``path`` (still percent-encoded) and raw ``query``."""
        url = f"{self.server}/{path.lstrip('/')}"
        return f"{url}?{query.decode('latin-1')}" if query else url

    @property
    def extensions(self) -> dict[str, Any]:
        return {"sni_hostname": self.sni} if self.sni else {}

    async def _close_if_idle(self) -> None:
        if self.retired and self.active == 0 and not self.closed:
            self.closed = True
            await self.client.aclose()


class Upstreams:
    """One :class:`Upstream` per cluster uid (see the module docstring); ``close()`` them all on
    shutdown."""

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_connections: int = 200,
    ) -> None:
        self.timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=20, keepalive_expiry=30.0
        )
        self._current: dict[str, Upstream] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._stale: set[str] = set()  # uids whose last client was retired: reload fresh
        self._closed = False

    async def acquire(self, uid: str, load: KubeconfigLoader) -> Upstream:
        """The upstream of cluster ``uid`` (built from ``load()`` on first use), counted as in
        use until :meth:`release`."""
        if self._closed:
            raise errors.Unavailable("the server is shutting down")
        upstream = self._current.get(uid)
        if upstream is None:
            lock = self._locks.setdefault(uid, asyncio.Lock())
            async with lock:
                upstream = self._current.get(uid)
                if upstream is None:
                    upstream = self._build(uid, await load(uid in self._stale))
                    self._current[uid] = upstream
                    self._stale.discard(uid)
        upstream.active += 1
        return upstream

    async def release(self, upstream: Upstream) -> None:
        upstream.active -= 1
        await upstream._close_if_idle()

    async def retire(self, upstream: Upstream) -> None:
        """Stop handing ``upstream`` out; it closes when its last request ends."""
        if self._current.get(upstream.uid) is upstream:
            del self._current[upstream.uid]
            self._stale.add(upstream.uid)
        upstream.retired = True
        await upstream._close_if_idle()

    async def forget(self, uid: str) -> None:
        """Retire the upstream of ``uid`` if there is one (the cluster is gone)."""
        upstream = self._current.get(uid)
        if upstream is not None:
            await self.retire(upstream)

    async def close(self) -> None:
        """Close every client, streams in flight included (shutdown)."""
        self._closed = True
        upstreams, self._current = list(self._current.values()), {}
        self._locks.clear()
        for upstream in upstreams:
            upstream.retired = upstream.closed = True
            with contextlib.suppress(Exception):
                await upstream.client.aclose()

    def _build(self, uid: str, kubeconfig: bytes) -> Upstream:
        try:
            target = parse_kubeconfig(kubeconfig)
        except yaml.YAMLError:
            # A YAML error quotes the document around the problem: never show it.
            raise errors.Unavailable(
                "the cluster's kubeconfig cannot be used by the AccessPoint: it is not YAML"
            ) from None
        except (ValueError, TypeError, ssl.SSLError) as exc:
            # These messages name what is wrong, never a value from the document.
            raise errors.Unavailable(
                f"the cluster's kubeconfig cannot be used by the AccessPoint: {exc}"
            ) from None
        client = httpx.AsyncClient(
            verify=target.ssl,
            headers=target.headers,
            timeout=self.timeout,
            limits=self._limits,
            trust_env=False,  # never route cluster traffic (and its credential) via env proxies
            follow_redirects=False,
        )
        log.debug("AccessPoint: new upstream for cluster uid=%s", uid)
        return Upstream(uid=uid, server=target.server, client=client, sni=target.sni)
