"""In-flight OIDC logins: where a login may return to, and the short-lived state between steps.

Two kinds of state live in server memory, each for minutes at most and bounded in number (the
oldest goes first when full), so an unauthenticated caller cannot grow them without limit:

- a *pending login*, keyed by the OAuth ``state``: the nonce, the PKCE verifier, where to go
  afterwards and a hash of the browser binding (a random cookie set when the login started),
  from ``/auth/v1/oidc/login`` until the identity provider redirects back (10 minutes);
- an *exchange code*, handed to the CLI's loopback listener in place of a token: the user and
  groups of a finished login, redeemable once, within 60 seconds, for an API token. The token
  is issued only when the code is redeemed, so a code nobody redeems leaves no token behind.

Memory, not the database: the state is worthless after minutes and must never be replayable
from a backup. A login must therefore finish on the process that started it (one replica, or
sticky sessions in front of several).

Where a login may return to (:func:`check_next`): a loopback ``http://127.0.0.1:PORT/...``
(or ``[::1]``) URL, which is how the CLI receives its code (RFC 8252), or a path on Orbit
itself, for the dashboard. Anything else is refused, so the login endpoint is no open redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from orbit import errors

LOGIN_TTL = 600.0
EXCHANGE_TTL = 60.0
MAX_ENTRIES = 10_000
LOOPBACK_HOSTS = ("127.0.0.1", "::1")
# Parameters Orbit adds when it sends the browser back to ``next``; never taken from ``next``.
RETURN_PARAMS = frozenset({"code", "error", "error_description"})

T = TypeVar("T")


class Expiring(Generic[T]):
    """A bounded map whose entries vanish after ``ttl`` seconds; :meth:`pop` is the only read,
    so every entry is used at most once."""

    def __init__(
        self, ttl: float, *, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._items)

    def put(self, key: str, value: T) -> None:
        self._expire()
        while len(self._items) >= self._max:
            self._items.popitem(last=False)
        self._items[key] = (self._clock() + self.ttl, value)

    def pop(self, key: str) -> T | None:
        """The entry under ``key``, removed; None when absent or expired."""
        self._expire()
        found = self._items.pop(key, None)
        return None if found is None else found[1]

    def _expire(self) -> None:
        now = self._clock()
        while self._items:
            key, (deadline, _) = next(iter(self._items.items()))
            if deadline > now:
                break
            del self._items[key]


@dataclass(frozen=True)
class Next:
    """Where a finished login goes: ``loopback`` (the CLI: gets an exchange code) or ``path``
    (the dashboard, on this server: gets the token as a cookie)."""

    kind: Literal["loopback", "path"]
    url: str


def check_next(value: str | None) -> Next:
    """``value`` as a permitted return address; BadRequest saying what is allowed otherwise."""
    if value is None or value == "":
        return Next("path", "/")
    if len(value) > 2048:
        raise errors.BadRequest("next is too long (at most 2048 characters)")
    if value.startswith("/"):
        # "//host" and "/\host" are read by browsers as another host.
        if value.startswith(("//", "/\\")) or any(c in value for c in "\\\r\n\t"):
            raise errors.BadRequest(f"next {value!r} is not a path on this server")
        return Next("path", value)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a malformed authority ("http://[::1", a port out of range)
        raise errors.BadRequest(f"next {value!r} is not a valid URL") from None
    if (
        parts.scheme != "http"
        or parts.hostname not in LOOPBACK_HOSTS
        or port is None
        or parts.username is not None
        or parts.password is not None
        or parts.fragment
    ):
        raise errors.BadRequest(
            f"next {value!r} is not allowed: give a path on this server (the dashboard) or a "
            "loopback URL http://127.0.0.1:PORT/... (the CLI)"
        )
    return Next("loopback", value)


def with_params(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query (replacing any of Orbit's return params)."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in RETURN_PARAMS
    ]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def new_secret() -> str:
    """A random, URL-safe value for a state, a nonce, a binding or an exchange code."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
