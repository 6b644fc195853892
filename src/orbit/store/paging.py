"""Continue tokens for paged lists: an opaque, URL-safe form of the last key returned.

Paging is by key (``(namespace, name) > last``), not by offset, so a page never repeats or
skips an object that was not itself created or deleted meanwhile, and a token stays valid for
as long as a client likes (unlike Kubernetes', which expire with etcd compaction).
"""

from __future__ import annotations

import base64
import binascii
import json

from orbit import errors

_VERSION = 1


def encode(namespace: str, name: str) -> str:
    raw = json.dumps({"v": _VERSION, "ns": namespace, "name": name}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> tuple[str, str]:
    """The (namespace, name) a token continues after; BadRequest if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != _VERSION:
            raise ValueError("unknown version")
        namespace, name = data["ns"], data["name"]
        if not isinstance(namespace, str) or not isinstance(name, str):
            raise ValueError("bad key")
    except (binascii.Error, ValueError, AttributeError, KeyError, TypeError) as err:
        raise errors.BadRequest(
            f"continue token {token!r} is not valid: pass back the continueToken of the previous "
            "page unchanged, or start the list again without one"
        ) from err
    return namespace, name
