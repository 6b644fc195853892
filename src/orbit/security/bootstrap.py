"""The first administrator: on first start Orbit creates the User ``admin``, binds it to
``global-admin`` and issues it a token, written to a file only its owner can read.

"First start" means: the User ``admin`` does not exist yet. A later start leaves everything as
it is, so deleting the token file does not mint a new one: another global-admin can issue the
admin a token (``orbit token create --user admin``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from orbit import errors
from orbit.api import v1alpha1
from orbit.security.tokens import TokenStore
from orbit.store.base import ResourceStore

ADMIN_USER = "admin"
ADMIN_BINDING = "orbit-admins"


@dataclass(frozen=True)
class Bootstrap:
    token: str | None  # the new admin token, on first start only
    path: Path


async def ensure_admin(store: ResourceStore, tokens: TokenStore, token_file: Path) -> Bootstrap:
    """Create the admin user, binding and token once; write the token to ``token_file`` (0600)."""
    try:
        await store.get(v1alpha1.User, None, ADMIN_USER)
        return Bootstrap(token=None, path=token_file)
    except errors.NotFound:
        pass
    binding = v1alpha1.ClusterRoleBinding(
        metadata=v1alpha1.ObjectMeta(name=ADMIN_BINDING),
        spec=v1alpha1.ClusterRoleBindingSpec(
            role="global-admin", subjects=[v1alpha1.Subject(kind="User", name=ADMIN_USER)]
        ),
    )
    with contextlib.suppress(errors.AlreadyExists):
        await store.create(binding)
    # The User is created last: it marks the bootstrap done. A crash before it leaves tokens
    # that a retry revokes, so only the token in the file ever works.
    for info in await tokens.list(ADMIN_USER):
        await tokens.revoke(info.id)
    _, token = await tokens.issue(ADMIN_USER, description="first-start admin token")
    write_private(token_file, token + "\n")
    await store.create(
        v1alpha1.User(
            metadata=v1alpha1.ObjectMeta(name=ADMIN_USER),
            spec=v1alpha1.UserSpec(display_name="Orbit administrator"),
        )
    )
    return Bootstrap(token=token, path=token_file)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    os.replace(tmp, path)
