"""``/admin/v1``: operations on the Orbit installation itself; for now ``rotate-key``, which
re-encrypts every secret under a new key-encryption key while the server keeps serving.

Every route needs the ``admin`` non-resource permission (global-admin only).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from orbit import errors
from orbit.security.secrets import NO_KEY, rotate
from orbit.server import auth
from orbit.server.credentials import vault_of
from orbit.server.deps import StoreDep

PREFIX = "/admin/v1"
router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(auth.require("create", "admin", namespace_param=None))],
)


class RotateKeyResult(BaseModel):
    """What a key rotation did (no secret in it)."""

    primary: str = Field(description="The key-encryption key every secret is now sealed under.")
    rewrapped: int = Field(description="How many secrets were re-encrypted.")
    retired: list[str] = Field(description="Old keys destroyed (no secret needs them).")
    kept: list[str] = Field(description="Old keys kept: some secrets under them did not open.")
    failed: list[str] = Field(description="Secrets that did not open (owner uid/name: why).")
    remaining: int = Field(description="Secrets still under an old key.")


@router.post(
    f"{PREFIX}/rotate-key",
    operation_id="rotateKey",
    summary="Re-encrypt every secret under a new key-encryption key",
    response_model=RotateKeyResult,
    description="Adds a new primary key to the keyring file, re-encrypts every secret under it "
    "(a new data key each) in batches while reads go on, then destroys the old keys. "
    "Rerun it to finish one that was interrupted; rewrapOnly=true re-encrypts under the "
    "current primary without adding a key (for a keyring given in ORBIT_SECURITY__KEYS).",
)
async def rotate_key(
    request: Request,
    store: StoreDep,
    rewrap_only: Annotated[bool, Query(alias="rewrapOnly")] = False,
) -> RotateKeyResult:
    vault = vault_of(request)
    if vault is None:
        raise errors.Unavailable(f"{NO_KEY}: there is nothing to rotate")
    report = await rotate(store, vault.keyring, new_key=not rewrap_only)
    return RotateKeyResult.model_validate(report.to_dict())
