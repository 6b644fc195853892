"""GitOps: git repositories as the source of truth of Orbit objects, with the current state
written back next to them (ORBOS's "store all operations into the repository").

- :mod:`~orbit.gitops.tree`: reading a tree of manifests, keeping file and line of each field;
- :mod:`~orbit.gitops.desired`: what a repository wants, checked before anything is written;
- :mod:`~orbit.gitops.apply`: applying through admission (all or nothing), adopting, pruning;
- :mod:`~orbit.gitops.plan`: the store as a sync's planned writes will leave it (its dry run);
- :mod:`~orbit.gitops.status`: the written-back current state;
- :mod:`~orbit.gitops.credentials`: a ``git`` Credential as git auth;
- :mod:`~orbit.gitops.controller`: the GitRepository reconciler.

The git work is :mod:`orbit.gitrepo`'s, secret values are opened by :mod:`orbit.secretfiles`
with the Orbit Plane's age identity (:func:`open_identity`). This package sits above the
controllers in the layering because it writes as the API does, through admission and the vault.
See docs/gitops.md.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from orbit import secretfiles
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.config import Settings
from orbit.gitops.controller import GitRepositoryReconciler
from orbit.gitops.desired import Decrypt, DecryptFailed
from orbit.providers.base import SettingsChecks
from orbit.runtime.controller import Controller
from orbit.runtime.manager import Manager
from orbit.runtime.predicates import generation_changed
from orbit.runtime.sharding import ShardMember
from orbit.security.secrets import SecretVault
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.gitops")

__all__ = ["GitRepositoryReconciler", "add_controller", "open_identity"]


def open_identity(path: Path) -> tuple[list[secretfiles.Identity], str | None]:
    """The Orbit Plane's age identities from ``path``, created (0600) on first start, and the
    public recipient to encrypt for (None when the file holds only SSH identities)."""
    if not path.exists():
        generated = secretfiles.generate_identity()
        try:
            secretfiles.write_identity(path, generated)
            log.info("Created the GitOps age identity %s (recipient %s)", path, generated.recipient)
        except secretfiles.SecretFileError:
            if not path.exists():  # another process did not win the race: a real failure
                raise
    identities = secretfiles.load_identities(path)
    recipient = next((r for r in _recipients(path)), None)
    return identities, recipient


def _recipients(path: Path) -> list[str]:
    """Public keys named in an age identity file's comments (``# public key: age1...``)."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        head, _, value = line.partition(":")
        if head.strip() == "# public key" and value.strip().startswith("age1"):
            found.append(value.strip())
    return found


def decrypter(identities: Sequence[secretfiles.Identity]) -> Decrypt:
    """Opens a Credential document's ``ENC[age,...]`` values with ``identities``."""

    def decrypt(body: dict[str, Any]) -> dict[str, Any]:
        try:
            return secretfiles.decrypt_document(body, identities)
        except secretfiles.SecretFileError as err:
            raise DecryptFailed(err.field or "spec.secretData", err.problem) from None

    return decrypt


def add_controller(
    manager: Manager,
    store: ResourceStore,
    *,
    vault: SecretVault | None,
    providers: Collection[str],
    settings: Settings,
    shards: ShardMember | None = None,
    checks: SettingsChecks | None = None,
) -> GitRepositoryReconciler:
    """Add the GitRepository controller to ``manager`` (before it starts)."""
    identities, recipient = open_identity(settings.age_identity_file())
    if recipient:
        log.info("GitOps secrets in git are encrypted for age recipient %s", recipient)
    reconciler = GitRepositoryReconciler(
        store,
        admission=Admission(
            store,
            providers=providers,
            catalog_namespace=settings.security.catalog_namespace,
            checks=checks,
        ),
        vault=vault,
        decrypt=decrypter(identities),
        workdir=settings.gitops_dir() / "repositories",
        write_interval=settings.gitops.write_interval,
        git_timeout=settings.gitops.git_timeout,
    )
    ctl = settings.controllers
    manager.add(
        Controller(
            "gitrepository",
            store=store,
            kind=v1alpha1.GitRepository,
            reconciler=reconciler,
            watches=reconciler.watches(),
            workers=min(ctl.workers, 4),
            resync_period=ctl.resync_period,
            base_delay=ctl.base_delay,
            max_delay=ctl.max_delay,
            shards=shards,
            predicate=generation_changed(),
        )
    )
    return reconciler
