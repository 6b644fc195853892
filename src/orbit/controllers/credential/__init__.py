"""The Credential controller: a credential is Ready when its provider is installed in this
Orbit, so ``orbit get credentials`` tells a platform lead at once which accounts are usable (a
webhook's signing secret, provider ``webhook``, always is: there is no account behind it).
(Checking the account itself is each provider's business and comes with real providers.)"""

from __future__ import annotations

import contextlib

from orbit.api import v1alpha1
from orbit.errors import NotFound
from orbit.providers.registry import ProviderRegistry
from orbit.runtime.controller import Request, Result
from orbit.store.base import ResourceStore


class CredentialReconciler:
    def __init__(self, store: ResourceStore, *, providers: ProviderRegistry) -> None:
        self._store = store
        self._providers = providers

    async def reconcile(self, request: Request) -> Result:
        try:
            cred = await self._store.get(v1alpha1.Credential, request.namespace, request.name)
        except NotFound:
            return Result()
        provider = cred.spec.provider
        installed = provider in self._providers.names()
        reason = "ProviderInstalled" if installed else "ProviderNotInstalled"
        message = (
            f"provider {provider!r} is installed"
            if installed
            else f"provider {provider!r} is not installed in this Orbit "
            f"(installed: {', '.join(self._providers.names()) or 'none'})"
        )
        if provider == v1alpha1.SIGNING_PROVIDER:  # a webhook's secret, no account to check
            installed, reason = True, "SigningSecret"
            message = "holds a webhook signing secret"
        elif provider == v1alpha1.GIT_PROVIDER:  # a GitRepository's access, checked on fetch
            installed, reason = True, "GitAccess"
            message = "opens a git repository (see the GitRepository's conditions)"
        status = (cred.status or v1alpha1.CredentialStatus()).model_copy(deep=True)
        status.ready = installed
        status.conditions = v1alpha1.set_condition(
            status.conditions,
            v1alpha1.Condition(
                type="Ready",
                status="True" if installed else "False",
                reason=reason,
                message=message,
                observed_generation=cred.metadata.generation,
            ),
        )
        if status != cred.status:
            cred = cred.model_copy(update={"status": status})
            cred.metadata.resource_version = None
            with contextlib.suppress(NotFound):  # deleted meanwhile
                await self._store.update_status(cred)
        return Result()
