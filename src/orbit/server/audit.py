"""The audit recorder: every mutating request leaves a record in the audit log.

A pure ASGI middleware (so watch streams and proxied responses pass through untouched) that
records every POST, PUT, PATCH and DELETE on the Orbit API (``/apis/...``), on ``/auth/...`` and
``/admin/...``, every write through the AccessPoint (``/clusters/{namespace}/{name}/proxy/
...``) and every call of a GitRepository's sync hook (``/hooks/v1/...``: resource
``gitrepositories/hook``, actor ``hook:<namespace>/<name>`` once its signature verifies),
whatever its outcome: 2xx is ``success``, 401 and 403 ``denied``, anything else
``failed``. Reads are not audited. What a record holds (see :mod:`orbit.security.audit`):

- ``actor``: ``scope["state"]["identity"].user``, which the authentication dependency leaves
  there (``request.state.identity``); ``anonymous`` when the request never got that far.
- ``verb``: create, update, patch, delete (from the method; DELETE of a collection is
  deletecollection); ``resource``, ``namespace``, ``name``: from the path (:func:`target`).
  A create names its object in the body, not the path: for ``/apis`` creates the name is taken
  from the response (``metadata.name``, or the Status' ``details.name`` of a refusal).
- ``path``: the request path, never the query string (a place where tokens sometimes travel);
  ``source``: the client address as the ASGI server reports it (uvicorn applies
  ``X-Forwarded-For`` only from trusted proxies).
- ``message``: the error message of a failed request, from its ``Status`` body.

A dry run (``?dryRun=All`` on an ``/apis`` create, replace, patch or delete of an object)
changes nothing and is not recorded, like a read; a subresource write is recorded whatever its
query says, as those routes take no dry run.

Bodies: only error responses (small Status JSON) and the success response of an ``/apis``
create are looked at, each up to a cap, and only while they stream past; the body of every other
response is neither kept nor read. Nothing from a request body is recorded.

When: the record is written after the response is complete but before its last chunk is sent,
so a client that has its answer can already find the record.

If writing the record fails, the request's own outcome stands: the change it made has already
committed, and turning a success into an error would make clients retry a write that happened
(a second create, a second delete). The failure is logged at ERROR with every field of the
lost record (so the log is the fallback trail) and counted in ``app.state.audit_stats``. A log
that must never miss a record needs the record written in the same transaction as the change;
that is the store's business and not done here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orbit.security import audit

log = logging.getLogger(__name__)

VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
PROXY = "clusterdeployments/proxy"
ERROR_BODY_LIMIT = 64 * 1024
CREATE_BODY_LIMIT = 1024 * 1024
_VERSION = re.compile(r"^v\d+([a-z]+\d+)?$")

AuditLogGetter = Callable[[], audit.AuditLog | None]


@dataclass
class AuditStats:
    """Counters of the recorder (``app.state.audit_stats``): records written, records lost
    because the write failed, and requests not recorded because no audit log was set."""

    recorded: int = 0
    failures: int = 0
    unconfigured: int = 0


@dataclass(frozen=True)
class Target:
    """What a request path names. ``create_name``: the name is in the response body."""

    resource: str
    namespace: str = ""
    name: str = ""
    collection: bool = False
    create_name: bool = False


def target(method: str, path: str) -> Target | None:
    """What a mutating request on ``path`` acts on, or None when it is not audited."""
    if method not in VERBS:
        return None
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    head = segments[0]
    if head == "apis" and len(segments) >= 3:
        return _api_target(segments[3:])
    if head in ("auth", "admin"):
        rest = segments[1:]
        if rest and _VERSION.match(rest[0]):
            rest = rest[1:]
        return _item(rest or [head])
    if head == "clusters" and len(segments) >= 4 and segments[3] == "proxy":
        return Target(PROXY, namespace=segments[1], name=segments[2])
    if head == "hooks" and len(segments) == 6 and segments[2] == "namespaces":
        # /hooks/v1/namespaces/{ns}/{plural}/{name}: a git host asking for a sync.
        return Target(f"{segments[4]}/hook", namespace=segments[3], name=segments[5])
    if head == "apis":
        return Target("")
    return None


def _api_target(rest: list[str]) -> Target:
    """``[namespaces/{ns}/]{plural}[/{name}[/{sub}...]]`` after ``/apis/{group}/{version}``."""
    if len(rest) >= 3 and rest[0] == "namespaces":
        found = _item(rest[2:])
        return Target(
            found.resource,
            namespace=rest[1],
            name=found.name,
            collection=found.collection,
            create_name=found.collection,
        )
    if not rest:
        return Target("")
    found = _item(rest)
    return Target(
        found.resource, name=found.name, collection=found.collection, create_name=found.collection
    )


def _item(rest: list[str]) -> Target:
    """``{resource}[/{name}[/{sub}...]]``: the resource (with any subresource) and name."""
    resource = rest[0]
    if len(rest) > 2:
        resource = "/".join([resource, *rest[2:]])
    return Target(resource, name=rest[1] if len(rest) > 1 else "", collection=len(rest) == 1)


def _dry_run(scope: Scope) -> bool:
    """An ``/apis`` write of an object with ``dryRun=All``: it changes nothing."""
    if scope.get("method") not in VERBS:
        return False
    path = scope.get("path", "")
    if not path.startswith("/apis/"):
        return False
    found = target(scope["method"], path)
    if found is None or "/" in found.resource:
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("dryRun") == ["All"]


def outcome(code: int) -> str:
    if 200 <= code < 300:
        return "success"
    if code in (401, 403):
        return "denied"
    return "failed"


class AuditMiddleware:
    """Records mutating requests (see the module docstring); everything else passes through."""

    def __init__(self, app: ASGIApp, *, audit_log: AuditLogGetter, stats: AuditStats) -> None:
        self.app = app
        self.audit_log = audit_log
        self.stats = stats
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = None
        if scope["type"] == "http" and not _dry_run(scope):
            found = target(scope.get("method", ""), scope.get("path", ""))
        if found is None:
            await self.app(scope, receive, send)
            return
        # The state dict the handlers' request.state writes to (kept if the server set one).
        scope.setdefault("state", {})
        call = _Call(scope, found)

        async def recording_send(message: Message) -> None:
            call.observe(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await self._record(call)
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            # No complete response (the app raised, or ended without one): still a record.
            await self._record(call)

    async def _record(self, call: _Call) -> None:
        if call.recorded:
            return
        call.recorded = True
        entry = call.entry()
        audit_log = self.audit_log()
        if audit_log is None:
            self.stats.unconfigured += 1
            if not self._warned:
                self._warned = True
                log.warning("No audit log is configured: mutating requests are not recorded")
            return
        # Shielded: a request cancelled now has still made its change, so it keeps its record.
        task = asyncio.ensure_future(audit_log.record(entry))
        try:
            await asyncio.shield(task)
        except Exception as err:
            self.stats.failures += 1
            log.error(
                "Writing an audit record failed; the record is lost from the audit log: "
                "%s %s %s/%s by %s -> %s (%s): %s",
                entry.verb,
                entry.resource,
                entry.namespace,
                entry.name,
                entry.actor,
                entry.code,
                entry.outcome,
                err,
                extra={"audit": dataclasses.asdict(entry)},
            )
        else:
            self.stats.recorded += 1


class _Call:
    """One audited request: what the response said, and as much of its body as is needed."""

    def __init__(self, scope: Scope, found: Target) -> None:
        self.scope = scope
        self.target = found
        self.code = 0
        self.body = bytearray()
        self.limit = 0
        self.recorded = False

    def observe(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = int(message["status"])
            if self.code >= 400:
                self.limit = ERROR_BODY_LIMIT
            elif self.target.create_name and 200 <= self.code < 300:
                self.limit = CREATE_BODY_LIMIT
        elif message["type"] == "http.response.body" and self.limit:
            chunk = message.get("body", b"")
            if len(self.body) + len(chunk) > self.limit:
                self.limit = 0  # too big to be what we look for: stop looking
                self.body.clear()
            else:
                self.body += chunk

    def entry(self) -> audit.AuditEntry:
        code = self.code or 500
        body = self._json()
        name = self.target.name
        message = ""
        if code >= 400:
            message = _status_message(body) or _phrase(code)
        if not name and self.target.create_name:
            name = _created_name(body)
        verb = VERBS[self.scope["method"]]
        if verb == "delete" and self.target.collection:
            verb = "deletecollection"
        client = self.scope.get("client")
        return audit.AuditEntry(
            actor=_actor(self.scope),
            verb=verb,
            resource=self.target.resource,
            namespace=self.target.namespace,
            name=name,
            path=self.scope.get("path", ""),
            source=str(client[0]) if client else "",
            code=code,
            outcome=outcome(code),
            message=message,
        )

    def _json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(bytes(self.body))
        except ValueError:
            return None


def _actor(scope: Scope) -> str:
    state = scope.get("state")
    identity = state.get("identity") if isinstance(state, dict) else None
    user = getattr(identity, "user", None)
    return str(user) if user else audit.ANONYMOUS


def _status_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return ""


def _created_name(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for holder in (body.get("metadata"), body.get("details")):
        if isinstance(holder, dict) and isinstance(holder.get("name"), str):
            return str(holder["name"])
    return ""


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"HTTP {code}"


def install(app: FastAPI, audit_log_getter: AuditLogGetter | None = None) -> AuditStats:
    """Record ``app``'s mutating requests in the audit log ``audit_log_getter`` returns (by
    default ``app.state.audit``, read per request, so the lifespan may set it late).

    Call after ``orbit.server.errors.install``: the recorder then wraps the catch-all error
    middleware and sees the 500 an unexpected exception becomes."""
    stats = AuditStats()
    app.state.audit_stats = stats

    def from_state() -> audit.AuditLog | None:
        found: audit.AuditLog | None = getattr(app.state, "audit", None)
        return found

    app.add_middleware(AuditMiddleware, audit_log=audit_log_getter or from_state, stats=stats)
    return stats
