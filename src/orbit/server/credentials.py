"""How the object routes write a Credential: through the vault, so ``spec.secretData`` is
sealed into secret rows and never reaches the stored body, a response, the change feed or a
watch. Every other kind goes straight to the store.

``app.state.vault`` (a :class:`orbit.security.secrets.SecretVault`, set by the composition
root) seals; when it is None a Credential carrying secret values is refused with 503.

A merge patch cannot carry ``secretData`` through the merge (a null there, which removes a
value, would vanish against a stored body that holds no ``secretData``), so
:func:`split_patch` takes it out of the patch first and puts it back on the merged object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from orbit.api import v1alpha1
from orbit.security.secrets import SecretVault, write_credential
from orbit.server import bodies
from orbit.store.base import ResourceStore

Writer = Callable[[v1alpha1.Resource, v1alpha1.Resource], Awaitable[v1alpha1.Resource]]


def vault_of(request: Request) -> SecretVault | None:
    vault: SecretVault | None = getattr(request.app.state, "vault", None)
    return vault


async def create(
    request: Request, store: ResourceStore, obj: v1alpha1.Resource
) -> v1alpha1.Resource:
    """``store.create(obj)``, sealing a Credential's secret values."""
    if isinstance(obj, v1alpha1.Credential):
        return await write_credential(store, vault_of(request), obj, old=None)
    return await store.create(obj)


async def replace(
    request: Request, store: ResourceStore, obj: v1alpha1.Resource, old: v1alpha1.Resource
) -> v1alpha1.Resource:
    """``store.update(obj)``, sealing a Credential's secret values."""
    if isinstance(obj, v1alpha1.Credential):
        assert isinstance(old, v1alpha1.Credential)
        return await write_credential(store, vault_of(request), obj, old=old)
    return await store.update(obj)


def split_patch(
    request: Request, store: ResourceStore, cls: type[v1alpha1.Resource], merge: dict[str, Any]
) -> tuple[dict[str, Any], Writer | None]:
    """For a Credential: the patch without ``spec.secretData`` and the writer that applies it
    to the merged object (validated as part of it). For other kinds: ``merge`` and None."""
    if cls is not v1alpha1.Credential:
        return merge, None
    spec = merge.get("spec")
    secret_data = spec.get("secretData") if isinstance(spec, dict) else None
    if isinstance(spec, dict) and "secretData" in spec:
        merge = {**merge, "spec": {k: v for k, v in spec.items() if k != "secretData"}}

    async def write(obj: v1alpha1.Resource, current: v1alpha1.Resource) -> v1alpha1.Resource:
        assert isinstance(current, v1alpha1.Credential)
        if secret_data is not None:
            data = obj.to_dict()
            data["spec"]["secretData"] = secret_data
            obj = bodies.validate(cls, data)
        assert isinstance(obj, v1alpha1.Credential)
        return await write_credential(store, vault_of(request), obj, old=current)

    return merge, write
