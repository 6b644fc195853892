"""Secrets at rest on both backends: a Credential's ``secretData`` is sealed into the ``secrets``
table in the object's own transaction, and never reaches a stored body, the change feed, an API
response, a log line or (SQLite) the database file; its rows go with it; a cluster's kubeconfig
is cached sealed; ``rotate`` re-encrypts every row under a new key while readers keep reading,
and finishes on a rerun after a crash."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from orbit import errors
from orbit.api import v1alpha1
from orbit.crypto import Keyring, SecretError
from orbit.security.secrets import (
    SecretVault,
    cluster_kubeconfig,
    credential_secret,
    rotate,
    write_credential,
)
from orbit.server import create_app
from orbit.server.routes import admin
from orbit.store import SqlStore, schema
from tests.conftest import Database

P = "/apis/orbit.k8or.io/v1alpha1"
NS = "default"
CREDS = f"{P}/namespaces/{NS}/credentials"
SECRET = "s3cr3t-AKIA-0123456789-planted"
OTHER = "an0ther-pl4nted-v4lue-9876"


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.load(tmp_path / "keys" / "keys.json")


@pytest.fixture
def vault(store: SqlStore, keyring: Keyring) -> SecretVault:
    return SecretVault(store, keyring)


@pytest.fixture
async def namespace(store: SqlStore) -> None:
    await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=NS)))


@pytest.fixture
def app(store: SqlStore, vault: SecretVault) -> FastAPI:
    app = create_app(store=store, routers=[admin.router])
    app.state.vault = vault
    return app


@pytest.fixture
async def api(
    app: FastAPI, admin_headers: dict[str, str], namespace: None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://orbit.test", headers=admin_headers
    ) as http:
        yield http


def credential(name: str = "aws", secret_data: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"provider": "sim", "config": {"region": "local"}}
    if secret_data is not None:
        spec["secretData"] = secret_data
    return {"metadata": {"name": name}, "spec": spec}


def cred_object(name: str, data: Mapping[str, str | None] | None) -> v1alpha1.Credential:
    secret_data = None if data is None else dict(data)
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name=name, namespace=NS),
        spec=v1alpha1.CredentialSpec(provider="sim", secret_data=secret_data),
    )


async def bodies(store: SqlStore) -> str:
    """Every object body and every change-feed body the database holds, as one text."""
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(schema.resources.c.body))).scalars().all()
        changes = (await conn.execute(sa.select(schema.changes.c.body))).scalars().all()
    return "\n".join([*rows, *changes])


async def secret_rows(store: SqlStore) -> list[tuple[str, str, str]]:
    async with store.engine.connect() as conn:
        query = sa.select(
            schema.secrets.c.owner_uid, schema.secrets.c.name, schema.secrets.c.key_id
        ).order_by(schema.secrets.c.owner_uid, schema.secrets.c.name)
        return [(r[0], r[1], r[2]) for r in (await conn.execute(query)).all()]


# -- the API -------------------------------------------------------------------------------


async def test_secret_data_is_write_only_and_leaks_nowhere(
    api: httpx.AsyncClient,
    store: SqlStore,
    vault: SecretVault,
    database_url: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await api.post(CREDS, json=credential(secret_data={"token": SECRET, "id": OTHER}))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["spec"]["secretKeys"] == ["id", "token"]
    assert "secretData" not in body["spec"]
    responses = [created]
    responses.append(await api.get(f"{CREDS}/aws"))
    responses.append(await api.get(CREDS))
    responses.append(await api.get(f"{P}/credentials"))
    responses.append(await api.get(f"{CREDS}/aws/status"))
    responses.append(await api.get(f"{CREDS}?watch=true&timeoutSeconds=1&resourceVersion=0"))
    for response in responses:
        assert response.status_code == 200 or response is created, response.text
        assert SECRET not in response.text and OTHER not in response.text
        assert "secretData" not in response.text
    assert "secretKeys" in responses[1].text

    stored = await store.get(v1alpha1.Credential, NS, "aws")
    assert stored.spec.secret_data is None
    assert await credential_secret(store, vault, stored) == {"id": OTHER, "token": SECRET}
    text = await bodies(store)
    assert SECRET not in text and OTHER not in text and "secretData" not in text
    assert len(await secret_rows(store)) == 2

    if database_url.backend == "sqlite":
        db = Path(database_url.url.removeprefix("sqlite:///"))
        files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
        assert any(p.name.endswith("-wal") for p in files)
        for path in files:
            raw = path.read_bytes()
            assert SECRET.encode() not in raw and OTHER.encode() not in raw, path
    assert SECRET not in caplog.text and OTHER not in caplog.text


async def test_writes_merge_secret_keys(
    api: httpx.AsyncClient, store: SqlStore, vault: SecretVault
) -> None:
    created = (await api.post(CREDS, json=credential(secret_data={"a": "1", "b": "2"}))).json()
    uid = created["metadata"]["uid"]

    # PUT without secretData keeps every value (and is a no-op).
    same = await api.put(f"{CREDS}/aws", json=credential())
    assert same.status_code == 200, same.text
    assert same.json()["spec"]["secretKeys"] == ["a", "b"]
    assert same.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

    # Re-sending the values held changes nothing either (re-applying a manifest).
    again = (await api.put(f"{CREDS}/aws", json=credential(secret_data={"a": "1"}))).json()
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

    # A new value is a spec change: new resourceVersion and generation, same visible spec.
    changed = (await api.put(f"{CREDS}/aws", json=credential(secret_data={"a": "9"}))).json()
    assert changed["metadata"]["generation"] == created["metadata"]["generation"] + 1
    assert changed["spec"]["secretKeys"] == ["a", "b"]
    assert (await vault.get(uid, "a")) == b"9"

    # PUT: null removes one, a new name adds one.
    put = await api.put(f"{CREDS}/aws", json=credential(secret_data={"a": None, "c": "3"}))
    assert put.json()["spec"]["secretKeys"] == ["b", "c"]

    # Merge patch: a null inside secretData removes that value (it is not lost in the merge).
    patched = await api.patch(
        f"{CREDS}/aws",
        json={"spec": {"secretData": {"b": None, "d": OTHER}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["spec"]["secretKeys"] == ["c", "d"]
    assert OTHER not in patched.text
    cred = await store.get(v1alpha1.Credential, NS, "aws")
    assert await credential_secret(store, vault, cred) == {"c": "3", "d": OTHER}

    # A patch of other fields keeps the values; secretKeys cannot be written.
    other = await api.patch(
        f"{CREDS}/aws",
        json={"spec": {"description": "prod", "secretKeys": ["forged"]}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert other.json()["spec"]["secretKeys"] == ["c", "d"]
    assert [name for _, name, _ in await secret_rows(store)] == ["c", "d"]


async def test_rejected_secret_data_is_not_echoed(api: httpx.AsyncClient, store: SqlStore) -> None:
    bad_name = await api.post(CREDS, json=credential(secret_data={"bad name": SECRET}))
    assert bad_name.status_code == 422
    assert "spec.secretData" in bad_name.text and SECRET not in bad_name.text
    bad_value = await api.post(CREDS, json=credential(secret_data={"token": {"v": SECRET}}))
    assert bad_value.status_code == 422
    assert "spec.secretData.token" in bad_value.text and SECRET not in bad_value.text
    await api.post(CREDS, json=credential())
    bad_patch = await api.patch(
        f"{CREDS}/aws",
        json={"spec": {"secretData": {"token": 5, "x y": SECRET}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert bad_patch.status_code == 422 and SECRET not in bad_patch.text
    assert await secret_rows(store) == []


async def test_without_a_keyring_secret_data_is_refused(
    api: httpx.AsyncClient, app: FastAPI, store: SqlStore
) -> None:
    app.state.vault = None
    refused = await api.post(CREDS, json=credential(secret_data={"token": SECRET}))
    assert refused.status_code == 503
    assert "no key-encryption key configured" in refused.json()["message"]
    assert SECRET not in refused.text
    plain = await api.post(CREDS, json=credential())
    assert plain.status_code == 201 and plain.json()["spec"]["secretKeys"] == []
    assert await secret_rows(store) == []


async def test_rows_go_with_their_owner(api: httpx.AsyncClient, store: SqlStore) -> None:
    await api.post(CREDS, json=credential("one", secret_data={"token": SECRET}))
    await api.post(CREDS, json=credential("two", secret_data={"token": OTHER}))
    assert len(await secret_rows(store)) == 2
    assert (await api.delete(f"{CREDS}/one")).status_code == 200
    two = await store.get(v1alpha1.Credential, NS, "two")
    assert [owner for owner, _, _ in await secret_rows(store)] == [two.metadata.uid]


async def test_rotate_key_route(
    api: httpx.AsyncClient, store: SqlStore, keyring: Keyring, vault: SecretVault
) -> None:
    await api.post(CREDS, json=credential(secret_data={"token": SECRET}))
    old = keyring.primary_id
    rotated = await api.post("/admin/v1/rotate-key")
    assert rotated.status_code == 200, rotated.text
    report = rotated.json()
    assert report["primary"] == keyring.primary_id != old
    assert report["rewrapped"] == 1 and report["retired"] == [old] and report["remaining"] == 0
    again = (await api.post("/admin/v1/rotate-key?rewrapOnly=true")).json()
    assert again["primary"] == report["primary"] and again["rewrapped"] == 0
    cred = await store.get(v1alpha1.Credential, NS, "aws")
    assert await credential_secret(store, vault, cred) == {"token": SECRET}


# -- the store -----------------------------------------------------------------------------


async def test_store_writes_secrets_in_the_object_transaction(
    store: SqlStore, vault: SecretVault, namespace: None
) -> None:
    cred = await write_credential(store, vault, cred_object("c", {"token": SECRET}), old=None)
    uid = cred.metadata.uid or ""
    assert await store.list_secret_names(uid) == ["token"]
    row = await store.get_secret(uid, "token")
    assert row is not None and row.key_id == vault.keyring.primary_id
    assert SECRET not in repr(row)

    # A failed object write writes no secret (same transaction).
    dup = cred_object("c", {"other": OTHER})
    with pytest.raises(errors.AlreadyExists):
        await write_credential(store, vault, dup, old=None)
    assert len(await secret_rows(store)) == 1

    # Removing a name that is not held is no write at all.
    same = await store.update(cred, secrets={"absent": None})
    assert same.metadata.resource_version == cred.metadata.resource_version

    # A finalizer keeps the object, and its secrets, until it is removed.
    held = cred.model_copy(deep=True)
    held.metadata.finalizers = ["test/hold"]
    held = await store.update(held)
    await store.delete(v1alpha1.Credential, NS, "c")
    assert await store.list_secret_names(uid) == ["token"]
    released = await store.get(v1alpha1.Credential, NS, "c")
    released.metadata.finalizers = []
    await store.update(released)
    assert await secret_rows(store) == []


async def test_a_row_copied_to_another_owner_does_not_open(
    store: SqlStore, vault: SecretVault, namespace: None
) -> None:
    one = await write_credential(store, vault, cred_object("one", {"token": SECRET}), old=None)
    two = await write_credential(store, vault, cred_object("two", {"token": OTHER}), old=None)
    row = await store.get_secret(one.metadata.uid or "", "token")
    assert row is not None
    await store.put_secret(two.metadata.uid or "", "token", row)
    with pytest.raises(SecretError, match="another owner"):
        await credential_secret(store, vault, two)
    with pytest.raises(errors.NotFound):
        await store.put_secret("00000000-0000-0000-0000-000000000000", "token", row)


async def test_cluster_kubeconfig_is_cached_sealed(
    store: SqlStore, vault: SecretVault, namespace: None
) -> None:
    cluster = await store.create(
        v1alpha1.ClusterDeployment(
            metadata=v1alpha1.ObjectMeta(name="dev", namespace=NS),
            spec=v1alpha1.ClusterDeploymentSpec(template="t", credential="c"),
        )
    )
    fetched: list[int] = []
    kubeconfig = f"apiVersion: v1\nusers: [{{name: admin, user: {{token: {SECRET}}}}}]\n".encode()

    async def fetch() -> bytes:
        fetched.append(1)
        return kubeconfig

    assert await cluster_kubeconfig(store, vault, cluster, fetch) == kubeconfig
    assert await cluster_kubeconfig(store, vault, cluster, fetch) == kubeconfig
    assert len(fetched) == 1
    assert await cluster_kubeconfig(store, vault, cluster, fetch, refresh=True) == kubeconfig
    assert len(fetched) == 2
    assert await cluster_kubeconfig(store, None, cluster, fetch) == kubeconfig  # no cache
    assert SECRET not in await bodies(store)
    await store.delete(v1alpha1.ClusterDeployment, NS, "dev")
    assert await secret_rows(store) == []
    # The cluster went while its kubeconfig was fetched: served, not cached.
    assert await cluster_kubeconfig(store, vault, cluster, fetch) == kubeconfig
    assert await secret_rows(store) == []


# -- rotation ------------------------------------------------------------------------------


def _expected(i: int) -> dict[str, str]:
    return {"token": f"{SECRET}-{i}", "id": f"id-{i}"}


async def _credentials(store: SqlStore, vault: SecretVault, n: int) -> list[v1alpha1.Credential]:
    return [
        await write_credential(store, vault, cred_object(f"c{i}", _expected(i)), old=None)
        for i in range(n)
    ]


async def test_rotate_reencrypts_every_row_while_readers_read(
    store: SqlStore,
    keyring: Keyring,
    vault: SecretVault,
    database_url: Database,
    namespace: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    creds = await _credentials(store, vault, 12)
    old = keyring.primary_id
    before = {(o, n): k for o, n, k in await secret_rows(store)}
    # Another Orbit process on the same database and keyring file, started before the rotation.
    other_store = await database_url.open()
    assert keyring.path is not None
    other_vault = SecretVault(other_store, Keyring.load(keyring.path))

    rewrap = store.rewrap
    batches = 0
    stop = asyncio.Event()
    reads = [0, 0]
    progress = asyncio.Condition()

    async def paced_rewrap(swaps: Any) -> int:
        # Before each batch, both readers read every secret once more: they read through the
        # whole rotation, half the rows under the old key and half under the new.
        nonlocal batches
        batches += 1
        wanted = [count + len(creds) for count in reads]
        async with progress:
            await asyncio.wait_for(
                progress.wait_for(lambda: all(c >= w for c, w in zip(reads, wanted, strict=True))),
                60,
            )
        return await rewrap(swaps)

    monkeypatch.setattr(store, "rewrap", paced_rewrap)

    async def reader(index: int, st: SqlStore, v: SecretVault) -> None:
        while not stop.is_set():
            for i, cred in enumerate(creds):
                assert await credential_secret(st, v, cred) == _expected(i)
                reads[index] += 1
            async with progress:
                progress.notify_all()
            await asyncio.sleep(0)

    readers = [
        asyncio.create_task(reader(0, store, vault)),
        asyncio.create_task(reader(1, other_store, other_vault)),
    ]
    report = await rotate(store, keyring, batch=5)
    stop.set()
    await asyncio.gather(*readers)

    assert batches >= 5 and min(reads) >= batches * len(creds)
    assert report.primary == keyring.primary_id != old
    assert report.rewrapped == 24 and report.retired == [old]
    assert report.failed == [] and report.kept == [] and report.remaining == 0
    after = await secret_rows(store)
    assert {k for _, _, k in after} == {report.primary}
    assert {(o, n) for o, n, _ in after} == set(before)
    assert old not in json.loads(keyring.path.read_text())["keys"]
    for i, cred in enumerate(creds):
        assert await credential_secret(other_store, other_vault, cred) == _expected(i)


@pytest.mark.parametrize("new_key", [False, True], ids=["rewrap-only", "another-key"])
async def test_rerun_after_a_crash_mid_rotation_finishes(
    store: SqlStore,
    keyring: Keyring,
    vault: SecretVault,
    namespace: None,
    monkeypatch: pytest.MonkeyPatch,
    new_key: bool,
) -> None:
    creds = await _credentials(store, vault, 8)
    old = keyring.primary_id
    rewrap = store.rewrap
    calls = 0

    async def crash_on_second_batch(swaps: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("killed mid-rotation")
        return await rewrap(swaps)

    monkeypatch.setattr(store, "rewrap", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        await rotate(store, keyring, batch=5)
    monkeypatch.setattr(store, "rewrap", rewrap)

    # Half done: both keys in use, both still in the file, everything still opens.
    assert keyring.path is not None
    restarted = Keyring.load(keyring.path)
    interrupted = restarted.primary_id
    assert {k for _, _, k in await secret_rows(store)} == {old, interrupted}
    restarted_vault = SecretVault(store, restarted)
    for i, cred in enumerate(creds):
        assert await credential_secret(store, restarted_vault, cred) == _expected(i)

    report = await rotate(store, restarted, new_key=new_key)
    assert report.remaining == 0 and report.failed == []
    assert {k for _, _, k in await secret_rows(store)} == {restarted.primary_id}
    assert old in report.retired
    if new_key:
        assert interrupted in report.retired and report.rewrapped == 16
    else:
        assert report.primary == interrupted and report.rewrapped == 11
    assert list(json.loads(keyring.path.read_text())["keys"]) == [restarted.primary_id]
    for i, cred in enumerate(creds):
        assert await credential_secret(store, restarted_vault, cred) == _expected(i)


async def test_rotation_keeps_a_key_whose_rows_do_not_open(
    store: SqlStore, keyring: Keyring, vault: SecretVault, namespace: None
) -> None:
    [cred] = await _credentials(store, vault, 1)
    uid = cred.metadata.uid or ""
    old = keyring.primary_id
    async with store.engine.begin() as conn:  # an attacker edits one ciphertext
        await conn.execute(
            sa.update(schema.secrets)
            .where(schema.secrets.c.owner_uid == uid, schema.secrets.c.name == "id")
            .values(ciphertext="AAAAAAAAAAAAAAAAAAAAAAAA")
        )
    report = await rotate(store, keyring)
    assert report.rewrapped == 1 and report.remaining == 1
    assert report.kept == [old] and report.retired == []
    assert report.failed == [f"{uid}/id: " + report.failed[0].split(": ", 1)[1]]
    assert "altered" in report.failed[0]
    assert old in keyring.key_ids
