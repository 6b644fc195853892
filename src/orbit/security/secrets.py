"""Secrets at rest: the vault that seals and opens them, the Credential write path, the
per-cluster kubeconfig cache, and re-encryption under a new key (``rotate``).

Every secret is sealed with :mod:`orbit.crypto` before the store sees it, bound (as AES-GCM
associated data) to its owner's uid and its name, so a row copied to another owner or name does
not open. The store keeps only sealed rows, written in the owner's own transaction.

- Credentials: ``spec.secretData`` is write-only. :func:`write_credential` takes it out of
  the object, seals each value, and writes the object (whose ``spec.secretKeys`` then lists the
  names held) and the sealed rows together. Values equal to the ones held are not re-sealed,
  so re-applying a manifest is a no-op. Providers read the values with
  :func:`credential_secret`.
- Clusters: :func:`cluster_kubeconfig` caches what the provider issues, sealed under the
  cluster's uid, so the AccessPoint does not ask the provider on every request.
- Rotation: :func:`rotate` adds a new primary key-encryption key, re-seals every row under it
  (a new data key each) in batches, then destroys the old keys no row needs any more. Rows
  still under an old key keep opening meanwhile (the keyring keeps it until the end), and a
  reader racing a re-wrap re-reads the row; an interrupted rotation is finished by running it
  again.

Nothing here logs, or puts in an error, a secret value.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orbit import errors
from orbit.api import v1alpha1
from orbit.crypto import Keyring, Sealed, SecretError
from orbit.store.base import ResourceStore
from orbit.store.secrets import SecretRow

log = logging.getLogger(__name__)

KUBECONFIG = "kubeconfig"
WRITE_ATTEMPTS = 5
ROTATE_BATCH = 100
_ROTATE_PASSES = 3
NO_KEY = "no key-encryption key configured"


def secret_aad(owner_uid: str, name: str) -> bytes:
    """The associated data binding a secret to its owner and name."""
    return b"orbit:secret\x00" + owner_uid.encode() + b"\x00" + name.encode()


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


class SecretVault:
    """Seals and opens the secrets of objects in ``store`` with ``keyring``."""

    def __init__(self, store: ResourceStore, keyring: Keyring) -> None:
        self.store = store
        self.keyring = keyring

    def __repr__(self) -> str:
        return f"<SecretVault {self.keyring!r}>"

    def seal(self, owner_uid: str, name: str, value: bytes | str) -> Sealed:
        return self.keyring.seal(_bytes(value), aad=secret_aad(owner_uid, name))

    def open(self, row: SecretRow) -> bytes:
        return self.keyring.open(row, aad=secret_aad(row.owner_uid, row.name))

    async def get(self, owner: v1alpha1.Resource | str, name: str) -> bytes | None:
        """The value of one secret of ``owner`` (an object or its uid); None if it has none."""
        return await read_secret(self.store, self, _uid(owner), name)

    async def get_all(self, owner: v1alpha1.Resource | str) -> dict[str, bytes]:
        uid = _uid(owner)
        values: dict[str, bytes] = {}
        for name in await self.store.list_secret_names(uid):
            value = await read_secret(self.store, self, uid, name)
            if value is not None:
                values[name] = value
        return values

    async def put(self, owner: v1alpha1.Resource, data: Mapping[str, bytes | str | None]) -> None:
        """Seal and keep (None: remove) secrets of an existing object without writing the
        object itself (e.g. a cluster's join token). NotFound if the object is gone."""
        uid = _uid(owner)
        for name, value in data.items():
            sealed = None if value is None else self.seal(uid, name, value)
            await self.store.put_secret(uid, name, sealed)


def _uid(owner: v1alpha1.Resource | str) -> str:
    if isinstance(owner, str):
        return owner
    if not owner.metadata.uid:
        raise errors.BadRequest(f'{owner.KIND} "{owner.metadata.name}" has no uid (not stored)')
    return owner.metadata.uid


async def read_secret(
    store: ResourceStore, vault: SecretVault | None, owner_uid: str, name: str
) -> bytes | None:
    """Open the secret ``name`` of ``owner_uid``. A row that fails to open is read once more:
    a rotation may have re-sealed it (and destroyed the old key) after it was read."""
    row = await store.get_secret(owner_uid, name)
    if row is None:
        return None
    if vault is None:
        raise errors.Unavailable(f"{NO_KEY}: secrets cannot be opened")
    try:
        return vault.open(row)
    except SecretError:
        fresh = await store.get_secret(owner_uid, name)
        if fresh is None:
            return None
        if fresh == row:
            raise
        return vault.open(fresh)


# -- Credentials ---------------------------------------------------------------------------


async def write_credential(
    store: ResourceStore,
    vault: SecretVault | None,
    obj: v1alpha1.Credential,
    *,
    old: v1alpha1.Credential | None,
    uid: str | None = None,
) -> v1alpha1.Credential:
    """Create (``old`` None) or update ``obj``, sealing its ``spec.secretData`` into secret
    rows written in the same transaction; the stored object carries no secret value, only
    ``spec.secretKeys``. Omitted ``secretData`` keeps every value held; a null value removes
    one. Unavailable (503) when values are given and no keyring is configured. ``uid``: the
    uid a new object gets (GitOps adoption), instead of a fresh one.

    An update not pinned to a ``resourceVersion`` is made conditional on the one it read and
    retried on Conflict, so ``secretKeys`` always matches the rows."""
    data = obj.spec.secret_data or {}
    if vault is None and any(value is not None for value in data.values()):
        raise errors.Unavailable(f"{NO_KEY}: {obj.KIND} secretData cannot be stored")
    if old is None:
        uid = uid or str(uuid.uuid4())
        sealed: dict[str, Sealed | None] = {}
        for name, value in data.items():
            if value is not None:
                assert vault is not None
                sealed[name] = vault.seal(uid, name, value)
        public = _without_values(obj, sorted(sealed))
        return await store.create(public, secrets=sealed or None, uid=uid)
    pinned = obj.metadata.resource_version
    current = old
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        uid = _uid(current)
        held = await store.list_secret_names(uid)
        changes = await _changes(store, vault, uid, held, data)
        keys = (set(held) | set(changes)) - {n for n, v in changes.items() if v is None}
        public = _without_values(obj, sorted(keys))
        if not pinned:
            public.metadata.resource_version = current.metadata.resource_version
        try:
            return await store.update(public, secrets=changes or None)
        except errors.Conflict:
            if pinned or attempt == WRITE_ATTEMPTS:
                raise
        current = await store.get(v1alpha1.Credential, obj.metadata.namespace, obj.metadata.name)
    raise AssertionError("unreachable")


async def _changes(
    store: ResourceStore,
    vault: SecretVault | None,
    uid: str,
    held: list[str],
    data: Mapping[str, str | None],
) -> dict[str, Sealed | None]:
    """The rows to write: removals of held names set to null, and values that differ from
    what is held (a value equal to the held one is left as it is)."""
    changes: dict[str, Sealed | None] = {}
    for name, value in data.items():
        if value is None:
            if name in held:
                changes[name] = None
            continue
        assert vault is not None
        if name in held:
            try:
                current = await read_secret(store, vault, uid, name)
            except SecretError:
                current = None  # unreadable: overwrite it with the new value
            if current == value.encode():
                continue
        changes[name] = vault.seal(uid, name, value)
    return changes


def _without_values(obj: v1alpha1.Credential, keys: list[str]) -> v1alpha1.Credential:
    spec = obj.spec.model_copy(update={"secret_data": None, "secret_keys": keys}, deep=True)
    return obj.model_copy(update={"spec": spec}, deep=True)


async def credential_secret(
    store: ResourceStore, vault: SecretVault | None, credential: v1alpha1.Credential
) -> dict[str, str]:
    """The secret values of ``credential`` by name (for its provider); Unavailable when it
    holds some and no keyring is configured, SecretError if one does not open."""
    uid = _uid(credential)
    values: dict[str, str] = {}
    for name in await store.list_secret_names(uid):
        value = await read_secret(store, vault, uid, name)
        if value is not None:
            values[name] = value.decode("utf-8", errors="replace")
    return values


# -- Clusters ------------------------------------------------------------------------------


async def cluster_kubeconfig(
    store: ResourceStore,
    vault: SecretVault | None,
    cluster: v1alpha1.ClusterDeployment,
    fetch: Callable[[], Awaitable[bytes]],
    *,
    refresh: bool = False,
) -> bytes:
    """The cluster's admin kubeconfig: from the sealed cache when held (and not ``refresh``),
    else from ``fetch`` (its provider), then cached. The cache goes with the cluster; pass
    ``refresh`` when the cluster refuses the cached credential. Without a keyring nothing is
    cached."""
    if vault is None:
        return await fetch()
    uid = _uid(cluster)
    if not refresh:
        try:
            cached = await read_secret(store, vault, uid, KUBECONFIG)
        except SecretError as err:
            log.warning('The cached kubeconfig of cluster "%s" does not open (%s); fetching '
                        "it again", cluster.metadata.name, err.message)  # fmt: skip
            cached = None
        if cached is not None:
            return cached
    data = await fetch()
    with contextlib.suppress(errors.NotFound):  # the cluster went meanwhile: nothing to cache
        await store.put_secret(uid, KUBECONFIG, vault.seal(uid, KUBECONFIG, data))
    return data


# -- Rotation ------------------------------------------------------------------------------


@dataclass
class RotateReport:
    """What a rotation did. ``kept``: old keys still wrapping rows that could not be re-sealed
    (listed in ``failed``), so they were not destroyed."""

    primary: str
    rewrapped: int = 0
    retired: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    remaining: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary": self.primary,
            "rewrapped": self.rewrapped,
            "retired": self.retired,
            "kept": self.kept,
            "failed": self.failed,
            "remaining": self.remaining,
        }


async def rotate(
    store: ResourceStore,
    keyring: Keyring,
    *,
    new_key: bool = True,
    batch: int = ROTATE_BATCH,
) -> RotateReport:
    """Re-encrypt every secret under a new primary key (``new_key``; else under the current
    primary, to finish an interrupted rotation or after changing ORBIT_SECURITY__KEYS), then
    retire the keys no row uses any more. Safe to rerun, and to run while others read and
    write secrets."""
    primary = keyring.rotate() if new_key else keyring.primary_id
    report = RotateReport(primary=primary)
    failed: set[tuple[str, str]] = set()
    for _ in range(_ROTATE_PASSES):
        done = await _rewrap_pass(store, keyring, primary, batch, failed, report)
        report.rewrapped += done
        if not done:
            break
    counts = await store.secret_key_ids()
    for key_id in keyring.key_ids:
        if key_id == keyring.primary_id or key_id == primary:
            continue
        if counts.get(key_id, 0):
            report.kept.append(key_id)
        else:
            keyring.retire(key_id)
            report.retired.append(key_id)
    current = keyring.primary_id
    report.remaining = sum(n for key_id, n in counts.items() if key_id not in (primary, current))
    log.info(
        "Key rotation: %d secret(s) re-encrypted under %s, retired %s, %d left under old keys",
        report.rewrapped,
        primary,
        ", ".join(report.retired) or "none",
        report.remaining,
    )
    return report


async def _rewrap_pass(
    store: ResourceStore,
    keyring: Keyring,
    primary: str,
    batch: int,
    failed: set[tuple[str, str]],
    report: RotateReport,
) -> int:
    """One walk over every row not under ``primary``; returns how many were re-sealed."""
    done = 0
    after: tuple[str, str] | None = None
    while True:
        rows = await store.secret_rows(exclude_key_id=primary, after=after, limit=batch)
        if not rows:
            return done
        swaps: list[tuple[SecretRow, Sealed]] = []
        for row in rows:
            where = (row.owner_uid, row.name)
            if where in failed:
                continue
            aad = secret_aad(row.owner_uid, row.name)
            try:
                plaintext = keyring.open(row, aad=aad)
            except SecretError as err:
                failed.add(where)
                report.failed.append(f"{row.owner_uid}/{row.name}: {err.message}")
                continue
            swaps.append((row, keyring.seal(plaintext, aad=aad)))
        done += await store.rewrap(swaps)
        after = (rows[-1].owner_uid, rows[-1].name)
