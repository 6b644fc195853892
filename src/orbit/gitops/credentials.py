"""How a GitRepository opens its repository: the Credential its ``credentialRef`` names.

A Credential of provider ``git`` in the repository's namespace holds, for SSH, the private key
as the secret ``privateKey`` and the pinned host keys as ``config.knownHosts`` (known_hosts
lines; ``config.acceptNewHostKeys: true`` trusts a host on first use, only when asked); for
HTTPS, the secret ``token`` (or ``password``) with ``config.username`` (default
``x-access-token``, which GitHub and Gitea accept with a token) and optionally
``config.caCertificate`` (PEM). Secret values are read through the vault per fetch and go to
git by file or environment only (:mod:`orbit.gitrepo.auth`).
"""

from __future__ import annotations

from orbit import errors, gitrepo
from orbit.api import v1alpha1
from orbit.security.secrets import SecretVault, credential_secret
from orbit.store.base import ResourceStore


class CredentialProblem(Exception):
    """The credential is missing or unusable; the message says what to fix (no secret)."""


async def auth_for(
    store: ResourceStore, vault: SecretVault | None, repo: v1alpha1.GitRepository
) -> gitrepo.Auth:
    """The git auth of ``repo`` (none without a ``credentialRef``)."""
    ref = repo.spec.credential_ref
    if ref is None:
        return gitrepo.NO_AUTH
    try:
        cred = await store.get(v1alpha1.Credential, repo.metadata.namespace, ref)
    except errors.NotFound:
        raise CredentialProblem(
            f'Credential "{ref}" (spec.credentialRef) does not exist in namespace '
            f'"{repo.metadata.namespace}"'
        ) from None
    if cred.spec.provider != v1alpha1.GIT_PROVIDER:
        raise CredentialProblem(
            f'Credential "{ref}" is for provider "{cred.spec.provider}", '
            f'not "{v1alpha1.GIT_PROVIDER}"'
        )
    try:
        secrets = await credential_secret(store, vault, cred)
    except errors.Unavailable as err:
        raise CredentialProblem(err.message) from None
    config = cred.spec.config
    if "privateKey" in secrets:
        known = config.get("knownHosts", "")
        accept_new = config.get("acceptNewHostKeys", False) is True
        if not isinstance(known, str) or (not known.strip() and not accept_new):
            raise CredentialProblem(
                f'Credential "{ref}" has no config.knownHosts: pin the server\'s host keys '
                "(ssh-keyscan output), or set config.acceptNewHostKeys: true to trust on first use"
            )
        return gitrepo.SshAuth(
            private_key=secrets["privateKey"],
            known_hosts=known,
            accept_new_host_keys=accept_new,
        )
    token = secrets.get("token") or secrets.get("password")
    if token is not None:
        username = config.get("username", "x-access-token")
        ca = config.get("caCertificate")
        return gitrepo.HttpsAuth(
            username=str(username),
            password_or_token=token,
            ca_certificate=ca if isinstance(ca, str) else None,
        )
    raise CredentialProblem(
        f'Credential "{ref}" holds neither a "privateKey" (SSH) nor a "token" or "password" '
        "(HTTPS) secret value"
    )
