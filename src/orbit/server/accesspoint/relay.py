"""Forwarding one request to a cluster and streaming its answer back, byte for byte.

Toward the cluster: the method, the Kubernetes path exactly as the caller encoded it, the raw
query string, the body, and the caller's headers except those that must not cross a proxy:
hop-by-hop headers, ``Host``, ``Content-Length`` (recomputed), and everything that carries or
asserts an identity (``Authorization``, ``Cookie``, ``Impersonate-*``, ``X-Remote-*``). The
cluster's own credential is the pooled client's. Back to the caller: the status code and the
headers (hop-by-hop ones and ``Content-Length`` aside), and the body as raw bytes (still
compressed if the cluster compressed it), so JSON, protobuf and the ``Table`` views kubectl
asks for pass unchanged.

Every response streams: a watch or a followed log goes on until either side ends it, bounded
by the AccessPoint's ``watch_timeout``; other requests are bounded by the pool's timeout.

Failures: a cluster that refuses Orbit's credential (401) gets one retry with a fresh client
(the credential may have been rotated), then 503; an endpoint that cannot be reached is 503
(and the client is rebuilt next time: the endpoint may have moved); a cluster that does not
answer in time is 504.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable

import anyio
import httpx
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.responses import StreamingResponse

from orbit import errors
from orbit.server.accesspoint.upstreams import KubeconfigLoader, Upstream, Upstreams

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_DROP = HOP_BY_HOP | {"host", "content-length", "authorization", "cookie", "expect"}
_REQUEST_DROP_PREFIXES = ("impersonate-", "x-remote-")
_RESPONSE_DROP = HOP_BY_HOP | {"content-length", "www-authenticate", "set-cookie"}


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Headers named in ``Connection`` are hop-by-hop too."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }


def request_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The caller's headers that may go on to the cluster."""
    pairs = list(headers)
    named = _connection_tokens(pairs)
    return [
        (name, value)
        for name, value in pairs
        if (low := name.lower()) not in _REQUEST_DROP
        and low not in named
        and not low.startswith(_REQUEST_DROP_PREFIXES)
    ]


def response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The cluster's headers that go back to the caller."""
    pairs = list(headers)
    named = _connection_tokens(pairs)
    return [
        (name, value)
        for name, value in pairs
        if (low := name.lower()) not in _RESPONSE_DROP and low not in named
    ]


class _Relay:
    """The body of one proxied response; releases its upstream once, however it ends."""

    def __init__(
        self,
        pool: Upstreams,
        upstream: Upstream,
        response: httpx.Response,
        limit: float | None,
    ) -> None:
        self._pool = pool
        self._upstream = upstream
        self._response = response
        self._limit = limit
        self._done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async with asyncio.timeout(self._limit):
                async for chunk in self._response.aiter_raw():
                    yield chunk
        except TimeoutError:
            pass  # the stream reached watch_timeout: end it, as an API server does
        except httpx.HTTPError as exc:
            # Headers are gone already: end the body; the caller sees it cut short.
            log.warning(
                "AccessPoint: the stream from cluster uid=%s broke: %s",
                self._upstream.uid,
                type(exc).__name__,
            )
        finally:
            await self.close()

    async def close(self) -> None:
        if self._done:
            return
        self._done = True
        # Shielded: a caller that went away cancels the response task, and the connection must
        # still go back to the pool (or be closed) and the upstream be released.
        with anyio.CancelScope(shield=True):
            try:
                await self._response.aclose()
            finally:
                await self._pool.release(self._upstream)


async def forward(
    pool: Upstreams,
    uid: str,
    load: KubeconfigLoader,
    *,
    method: str,
    path: str,
    query: bytes,
    headers: list[tuple[str, str]],
    body: bytes,
    stream: bool,
    stream_limit: float,
    cluster_name: str,
) -> StreamingResponse:
    """Send the request to cluster ``uid`` and return its streaming response."""
    timeout = pool.timeout
    if stream:
        timeout = httpx.Timeout(pool.timeout.read, connect=pool.timeout.connect, read=None)
    for attempt in (1, 2):
        upstream = await pool.acquire(uid, load)
        try:
            response = await _send(upstream, method, path, query, headers, body, timeout)
        except httpx.TimeoutException:
            await pool.release(upstream)
            raise HTTPException(
                504, f'cluster "{cluster_name}" did not answer in time; try again'
            ) from None
        except httpx.TransportError as exc:
            await pool.release(upstream)
            await pool.retire(upstream)
            raise errors.Unavailable(
                f'cluster "{cluster_name}" is unreachable ({type(exc).__name__}); try again'
            ) from None
        except BaseException:
            await pool.release(upstream)
            raise
        if response.status_code == 401:
            # The cluster refused Orbit's credential: never show the caller its 401 (kubectl
            # would blame the caller's token). Retry once with a freshly loaded kubeconfig.
            await response.aclose()
            await pool.release(upstream)
            await pool.retire(upstream)
            if attempt == 1:
                continue
            raise errors.Unavailable(
                f'cluster "{cluster_name}" refused Orbit\'s credential for it; '
                "an administrator should check the cluster"
            )
        relay = _Relay(pool, upstream, response, stream_limit if stream else None)
        reply = StreamingResponse(
            relay.chunks(), status_code=response.status_code, background=BackgroundTask(relay.close)
        )
        # Raw pairs, so repeated headers (Warning, ...) pass byte for byte, as they came.
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        reply.raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response_headers(raw)
        ]
        return reply
    raise AssertionError("unreachable")  # pragma: no cover


async def _send(
    upstream: Upstream,
    method: str,
    path: str,
    query: bytes,
    headers: list[tuple[str, str]],
    body: bytes,
    timeouts: httpx.Timeout,
) -> httpx.Response:
    request = upstream.client.build_request(
        method,
        upstream.url(path, query),
        headers=headers,
        content=body or None,
        timeout=timeouts,
        extensions=upstream.extensions,
    )
    return await upstream.client.send(request, stream=True)
