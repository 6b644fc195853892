"""``/healthz`` (the process answers) and ``/readyz`` (the store answers and the composition root
says the rest has started), for supervisors and load balancers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from orbit.server.deps import ReadinessDep
from orbit.server.errors import status_body

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", response_class=PlainTextResponse, operation_id="getHealth")
async def healthz() -> Response:
    return PlainTextResponse("ok")


@router.get("/readyz", response_class=PlainTextResponse, operation_id="getReadiness")
async def readyz(request: Request, readiness: ReadinessDep) -> Response:
    store = getattr(request.app.state, "store", None)
    if store is None:
        return _unavailable("the server is starting: the store is not open yet")
    try:
        await store.revision()
    except Exception as exc:
        log.warning("Not ready: the store does not answer: %s", exc)
        return _unavailable("the store does not answer; check the database connection")
    if readiness is not None:
        try:
            ready = await readiness()
        except Exception:
            log.exception("Readiness check failed")
            ready = False
        if not ready:
            return _unavailable("the server is starting: controllers are not running yet")
    return PlainTextResponse("ok")


def _unavailable(message: str) -> Response:
    return JSONResponse(status_body(503, "ServiceUnavailable", message), status_code=503)
