"""``/audit/v1``: read the audit log (``records``, with filters) and check its chain (``verify``).

Read-only by design: the audit log has no write, update or delete route; records are written
only by the recorder (``orbit.server.audit``). Reading needs ``audit:list`` (records) or
``audit:get`` (verify), which global-admin and global-viewer hold.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from orbit import errors
from orbit.security import audit
from orbit.server import auth

PREFIX = "/audit/v1"
router = APIRouter(tags=["audit"])
_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def audit_log_of(request: Request) -> audit.AuditLog:
    found: audit.AuditLog | None = getattr(request.app.state, "audit", None)
    if found is None:
        raise errors.Unavailable("the server is starting: the audit log is not open yet")
    return found


Filter = Annotated[str | None, Query(description="Only records with exactly this value.")]


@router.get(
    f"{PREFIX}/records",
    operation_id="listAuditRecords",
    summary="Audit records, newest first (or oldest first after afterSeq)",
    dependencies=[Depends(auth.require("list", "audit", namespace_param=None))],
)
async def list_records(
    request: Request,
    actor: Filter = None,
    verb: Filter = None,
    resource: Filter = None,
    namespace: Filter = None,
    name: Filter = None,
    outcome: Annotated[
        str | None, Query(pattern="^(success|denied|failed)$", description="success|denied|failed")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="From this time (RFC 3339), inclusive.")
    ] = None,
    until: Annotated[datetime | None, Query(description="Before this time (RFC 3339).")] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 100,
    after_seq: Annotated[
        int | None,
        Query(alias="afterSeq", ge=0, description="Page forward: oldest after it first."),
    ] = None,
    before_seq: Annotated[
        int | None, Query(alias="beforeSeq", ge=1, description="Page back: newest before it first.")
    ] = None,
) -> JSONResponse:
    records = await audit_log_of(request).list(
        actor=actor,
        verb=verb,
        resource=resource,
        namespace=namespace,
        name=name,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        after_seq=after_seq,
        before_seq=before_seq,
    )
    return JSONResponse({"kind": "AuditRecordList", "items": [r.to_dict() for r in records]})


@router.get(
    f"{PREFIX}/verify",
    operation_id="verifyAuditLog",
    summary="Walk the hash chain; report the first broken record and the head",
    dependencies=[Depends(auth.require("get", "audit", namespace_param=None))],
)
async def verify(
    request: Request,
    anchor: Annotated[
        str | None,
        Query(description="SEQ:HASH of a head recorded earlier; that record must still match."),
    ] = None,
) -> JSONResponse:
    pinned: tuple[int, str] | None = None
    if anchor is not None:
        match = _ANCHOR.match(anchor.strip().lower())
        if match is None:
            raise errors.BadRequest(
                f"anchor {anchor!r} is not SEQ:HASH (a record number, a colon, 64 hex digits)"
            )
        pinned = (int(match.group(1)), match.group(2))
    report = await audit_log_of(request).verify(anchor=pinned)
    return JSONResponse({"kind": "AuditVerifyReport", **report.to_dict()})
