"""How a delivery is signed, and how a receiver checks it.

Headers of every delivery: ``X-Orbit-Event-Id``, ``X-Orbit-Event-Type``, ``X-Orbit-Timestamp``
(Unix seconds when this attempt was sent) and ``X-Orbit-Signature: sha256=<hex>``, the
HMAC-SHA256 under the Webhook's secret of ``"<timestamp>.<body>"``. Signing the timestamp with
the body lets a receiver refuse a replay: check the signature, then that the timestamp is
recent (:func:`verify` does both).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE = "X-Orbit-Signature"
TIMESTAMP = "X-Orbit-Timestamp"
EVENT_ID = "X-Orbit-Event-Id"
EVENT_TYPE = "X-Orbit-Event-Type"


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Orbit-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def headers(secret: bytes, body: bytes, *, event_id: str, event_type: str) -> dict[str, str]:
    stamp = int(time.time())
    return {
        "Content-Type": "application/json",
        EVENT_ID: event_id,
        EVENT_TYPE: event_type,
        TIMESTAMP: str(stamp),
        SIGNATURE: sign(secret, body, stamp),
    }


def verify(
    secret: bytes,
    body: bytes,
    *,
    signature: str,
    timestamp: str,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """True when ``signature`` signs ``body`` at ``timestamp`` and that is within
    ``tolerance`` seconds of ``now`` (a receiver's check)."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, stamp), signature)
