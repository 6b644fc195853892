"""``/hooks/v1/namespaces/{namespace}/gitrepositories/{name}``: "sync now", for git servers.

A git host calls it on every push (GitHub, Gitea and Forgejo sign the body with
``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``; GitLab sends the secret as
``X-Gitlab-Token``), with the secret the GitRepository's ``spec.hook.secretRef`` names. It needs
no Orbit token, so it proves itself with that signature alone: a GitRepository without a hook,
one that does not exist and a bad signature all get the same 401, which tells a caller
nothing. A verified call sets the ``requested-at`` annotation; the controller wakes on it and
fetches at once. When the GitRepository changes under each of five attempts to annotate it,
no sync is requested and the call gets a 503 saying so, for the caller to call again (a git
host's "redeliver"). Every call is in the audit log (actor ``hook:<namespace>/<name>`` when it
verifies, ``anonymous`` and ``denied`` when not). The body is not otherwise read: the sync
always fetches the branch itself.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from orbit import errors
from orbit.api import v1alpha1
from orbit.security.identity import Identity
from orbit.security.secrets import read_secret
from orbit.server.credentials import vault_of
from orbit.server.deps import StoreDep

log = logging.getLogger(__name__)

PATH = "/hooks/v1/namespaces/{namespace}/gitrepositories/{name}"
MAX_BODY = 1024 * 1024
_ATTEMPTS = 5
router = APIRouter(tags=["gitops"])


@router.post(PATH, operation_id="syncGitRepository", summary="Sync a GitRepository now (signed)")
async def sync_hook(request: Request, namespace: str, name: str, store: StoreDep) -> Response:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise errors.BadRequest("the hook body is larger than 1 MiB")
    secret = await _hook_secret(request, store, namespace, name)
    if secret is None or not _verified(request, body, secret):
        raise errors.Unauthorized(
            "the hook call does not verify: sign the body with the secret of the "
            "GitRepository's spec.hook.secretRef (X-Hub-Signature-256: sha256=<hex>)"
        )
    # The audit record's actor: the signature proves the caller holds the hook's secret.
    request.state.identity = Identity(user=f"hook:{namespace}/{name}", scopes=frozenset())
    stamp = datetime.now(UTC).isoformat(timespec="microseconds")
    for _ in range(_ATTEMPTS):  # a concurrent write moved the resourceVersion: read it again
        repo = await store.get(v1alpha1.GitRepository, namespace, name)
        repo.metadata.annotations[v1alpha1.ANNOTATION_REQUESTED] = stamp
        try:
            await store.update(repo)
            break
        except errors.Conflict:
            continue
    else:
        log.warning(
            "Sync of GitRepository %s/%s not requested: it changed on each of %d attempts",
            namespace,
            name,
            _ATTEMPTS,
        )
        raise errors.Unavailable(
            f"the sync was not requested: GitRepository {namespace}/{name} changed on each of "
            f"{_ATTEMPTS} attempts to annotate it; call the hook again (redeliver the push event)"
        )
    log.info("Sync of GitRepository %s/%s requested through its hook", namespace, name)
    return JSONResponse({"accepted": True, "requestedAt": stamp}, status_code=202)


async def _hook_secret(
    request: Request, store: StoreDep, namespace: str, name: str
) -> bytes | None:
    try:
        repo = await store.get(v1alpha1.GitRepository, namespace, name)
    except errors.NotFound:
        return None
    if repo.spec.hook is None:
        return None
    ref = repo.spec.hook.secret_ref
    try:
        cred = await store.get(v1alpha1.Credential, namespace, ref.name)
    except errors.NotFound:
        log.warning("GitRepository %s/%s: hook Credential %s is missing", namespace, name, ref.name)
        return None
    return await read_secret(store, vault_of(request), cred.metadata.uid or "", ref.key)


def _verified(request: Request, body: bytes, secret: bytes) -> bool:
    signature = request.headers.get("x-hub-signature-256")
    if signature is not None:
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature.strip().lower(), expected)
    token = request.headers.get("x-gitlab-token")
    if token is not None:
        return hmac.compare_digest(token.encode(), secret)
    return False
