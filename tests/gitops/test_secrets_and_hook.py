"""Secrets in git are age-encrypted for the Orbit Plane, which decrypts them into sealed
Credentials; no plaintext reaches the repository's history. A git server's signed push hook
makes Orbit sync at once; an unsigned or wrongly signed call is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from orbit import errors, secretfiles
from orbit.api import v1alpha1
from orbit.security.secrets import credential_secret
from orbit.server import create_app
from tests.gitops.conftest import (
    NS,
    Fleet,
    Orbit,
    cluster_yaml,
    credential_yaml,
    encrypted_for,
    until,
)

pytestmark = pytest.mark.slow  # a whole Orbit Plane against real git


TOKEN = "tok-3f9a1c-very-secret"
HOOK_SECRET = "hook-secret-5e1b"


async def test_encrypted_credentials_are_decrypted_sealed_and_never_in_git(
    fleet: Fleet, orbit: Orbit
) -> None:
    encrypted = encrypted_for(orbit, credential_yaml("lab", TOKEN))
    assert TOKEN not in encrypted and "ENC[age," in encrypted
    assert "region: lab  # not secret" in encrypted  # the rest of the file as written
    fleet.commit({"credentials/lab.yaml": encrypted, "clusters/a.yaml": cluster_yaml("a")})
    await orbit.repository(fleet.url)
    await orbit.ready("a")
    cred = await until(
        lambda: _get(orbit, v1alpha1.Credential, "lab"), "the Credential from git", timeout=20
    )
    assert cred.spec.secret_keys == ["token"]
    assert cred.spec.secret_data is None  # write-only: never in the stored body
    assert await credential_secret(orbit.store, orbit.plane.vault, cred) == {"token": TOKEN}  # type: ignore[union-attr]

    async def written() -> bool:
        return fleet.status("Credential", "lab") is not None

    await until(written, "the Credential's state written back", timeout=20)
    assert fleet.status("Credential", "lab")["status"]["secretKeys"] == ["token"]  # type: ignore[index]

    # A plaintext value committed by mistake is refused where it is, and not applied.
    fleet.commit({"credentials/oops.yaml": credential_yaml("oops", "plain-value-8c2d")})
    ready = await orbit.synced(await orbit.request_sync())
    assert ready.reason == "ParseFailed"
    assert "credentials/oops.yaml:11: plaintext secret value" in ready.message
    assert await _get(orbit, v1alpha1.Credential, "oops") is None
    fleet.commit({"credentials/oops.yaml": None}, "remove the mistake")
    await orbit.synced(await orbit.request_sync())

    # A full cycle later, the repository's history holds no secret Orbit decrypted or sealed.
    history = fleet.history()
    assert TOKEN not in history
    assert ".orbit/status/default/credential/lab.yaml" in history


async def test_a_value_for_another_identity_names_the_field(fleet: Fleet, orbit: Orbit) -> None:
    other = secretfiles.generate_identity()
    text = secretfiles.encrypt_text(
        credential_yaml("lab", TOKEN), [secretfiles.parse_recipient(other.recipient)]
    )
    fleet.commit({"credentials/lab.yaml": text})
    await orbit.repository(fleet.url)
    ready = await until(orbit.condition, "a Ready condition")
    assert ready.reason == "ParseFailed"
    assert "credentials/lab.yaml:11: spec.secretData.token: " in ready.message
    assert "cannot decrypt" in ready.message
    assert TOKEN not in ready.message


async def _get(orbit: Orbit, cls: type[v1alpha1.Resource], name: str) -> v1alpha1.Resource | None:
    found = await orbit.store.list(cls, "default")
    return next((o for o in found.items if o.metadata.name == name), None)


async def hooked_repository(fleet: Fleet, orbit: Orbit) -> None:
    """The hook's signing Credential, and the GitRepository whose hook it signs."""
    plane = orbit.plane
    assert plane is not None
    await orbit.store.create(
        v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name="hook", namespace=NS),
            spec=v1alpha1.CredentialSpec(provider="webhook"),
        )
    )
    await plane.vault.put(
        await orbit.store.get(v1alpha1.Credential, NS, "hook"), {"secret": HOOK_SECRET}
    )
    await orbit.repository(fleet.url, hook={"secretRef": {"name": "hook", "key": "secret"}})


async def test_a_signed_push_hook_syncs_now(fleet: Fleet, orbit: Orbit) -> None:
    plane = orbit.plane
    assert plane is not None
    await hooked_repository(fleet, orbit)
    await until(orbit.condition, "the first sync")
    fleet.commit({"clusters/late.yaml": cluster_yaml("late")})  # interval is 1h

    app = create_app(store=plane.store, vault=plane.vault)
    transport = httpx.ASGITransport(app=app)
    path = f"/hooks/v1/namespaces/{NS}/gitrepositories/fleet"
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    good = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient(transport=transport, base_url="http://orbit.test") as http:
        for headers in ({}, {"X-Hub-Signature-256": "sha256=" + "0" * 64}):
            refused = await http.post(path, content=body, headers=headers)
            assert refused.status_code == 401, refused.text
        unknown = await http.post(
            f"/hooks/v1/namespaces/{NS}/gitrepositories/nope",
            content=body,
            headers={"X-Hub-Signature-256": good},
        )
        assert unknown.status_code == 401  # the same answer: nothing to learn
        assert "late" not in await orbit.clusters()
        accepted = await http.post(path, content=body, headers={"X-Hub-Signature-256": good})
        assert accepted.status_code == 202, accepted.text
        gitlab = await http.post(path, content=b"{}", headers={"X-Gitlab-Token": HOOK_SECRET})
        assert gitlab.status_code == 202, gitlab.text
    await orbit.ready("late")
    # Every call is audited: who (the hook, once verified), on what, and how it ended.
    records = [
        (r.actor, r.verb, r.resource, r.namespace, r.name, r.outcome)
        for r in await app.state.audit.list(resource="gitrepositories/hook")
    ]
    refused = ("anonymous", "create", "gitrepositories/hook", NS)
    assert sorted(records) == sorted(
        [
            (*refused, "fleet", "denied"),
            (*refused, "fleet", "denied"),
            (*refused, "nope", "denied"),
            (f"hook:{NS}/fleet", "create", "gitrepositories/hook", NS, "fleet", "success"),
            (f"hook:{NS}/fleet", "create", "gitrepositories/hook", NS, "fleet", "success"),
        ]
    )


async def test_a_hook_call_that_cannot_request_a_sync_says_so(
    fleet: Fleet, orbit: Orbit, monkeypatch: pytest.MonkeyPatch
) -> None:
    plane = orbit.plane
    assert plane is not None
    await hooked_repository(fleet, orbit)
    await until(orbit.condition, "the first sync")
    # The GitRepository changes under every attempt to annotate it.
    attempts: list[str | None] = []
    update = plane.store.update

    async def always_moved(obj: Any, **kwargs: Any) -> Any:
        if isinstance(obj, v1alpha1.GitRepository):
            attempts.append(obj.metadata.resource_version)
            raise errors.Conflict("the object has been modified; read it again")
        return await update(obj, **kwargs)

    monkeypatch.setattr(plane.store, "update", always_moved)
    app = create_app(store=plane.store, vault=plane.vault)
    body = b'{"ref": "refs/heads/main"}'
    good = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://orbit.test"
    ) as http:
        answer = await http.post(
            f"/hooks/v1/namespaces/{NS}/gitrepositories/fleet",
            content=body,
            headers={"X-Hub-Signature-256": good},
        )
    monkeypatch.undo()
    assert answer.status_code == 503, answer.text
    assert answer.json()["reason"] == "ServiceUnavailable"
    assert "the sync was not requested" in answer.json()["message"]
    assert "call the hook again" in answer.json()["message"]
    assert len(attempts) == 5
    repo = await orbit.get_repository()
    assert v1alpha1.ANNOTATION_REQUESTED not in repo.metadata.annotations
    [record] = await app.state.audit.list(resource="gitrepositories/hook")
    assert (record.actor, record.outcome) == (f"hook:{NS}/fleet", "failed")
