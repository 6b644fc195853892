"""Admission: the rules an object must pass before the store accepts a write from the API.

Pydantic already checked each object's own shape; admission checks what needs other objects or
the previous version: a template's parameters are a valid JSON Schema and its cluster shape
renders, template specs are immutable, a cluster's config satisfies its template's schema, its
credential exists and serves the same provider, and an upgrade follows the template's upgrade
path; a template or credential of the shared catalog namespace is used only where an AccessRule
allows it (:mod:`orbit.admission.access`); ServiceTemplates and the service lists of clusters,
cluster templates and MultiClusterServices pass :mod:`orbit.admission.services`; a
GitRepository's write-back tree stays apart from the tree it syncs. A refusal is
:class:`orbit.errors.Invalid` with the field path of every cause, so nothing is written and
the person sees what to change. Controllers write through the store directly.
"""

from __future__ import annotations

from collections.abc import Collection

from orbit.admission.clusters import admit_cluster
from orbit.admission.services import (
    admit_service_template,
    admit_service_template_delete,
    admit_services_of,
)
from orbit.admission.templates import (
    admit_credential_delete,
    admit_template,
    admit_template_delete,
    provider_cause,
)
from orbit.api import v1alpha1
from orbit.errors import Cause, invalid
from orbit.providers.base import SettingsChecks
from orbit.store.base import ResourceStore


class Admission:
    """The server's admission hook: dispatches by kind."""

    def __init__(
        self,
        store: ResourceStore,
        *,
        providers: Collection[str],
        catalog_namespace: str = "default",
        checks: SettingsChecks | None = None,
    ) -> None:
        self._store = store
        self._providers = providers
        self._catalog = catalog_namespace
        #: Providers' checks of their own settings (ProviderRegistry.settings_checks).
        self._checks = checks or SettingsChecks()

    def reading(self, store: ResourceStore) -> Admission:
        """The same rules, reading other objects from ``store`` (a dry run's planned view)."""
        return Admission(
            store,
            providers=self._providers,
            catalog_namespace=self._catalog,
            checks=self._checks,
        )

    async def admit(
        self, new: v1alpha1.Resource, old: v1alpha1.Resource | None
    ) -> v1alpha1.Resource:
        if isinstance(new, v1alpha1.ClusterTemplate):
            assert old is None or isinstance(old, v1alpha1.ClusterTemplate)
            admit_template(
                new, old, providers=self._providers, spec_checks=self._checks.provider_spec
            )
            await admit_services_of(self._store, new, old, catalog_namespace=self._catalog)
        elif isinstance(new, v1alpha1.Credential):
            # Webhook signing secrets and git access are not infrastructure providers.
            usable = (*self._providers, v1alpha1.SIGNING_PROVIDER, v1alpha1.GIT_PROVIDER)
            if cause := provider_cause(new.spec.provider, usable):
                raise invalid(new.KIND, new.metadata.name, cause)
            check = self._checks.credential_config.get(new.spec.provider)
            if check is not None and (causes := check(new.spec.config)):
                raise invalid(new.KIND, new.metadata.name, *causes)
        elif isinstance(new, v1alpha1.ClusterDeployment):
            assert old is None or isinstance(old, v1alpha1.ClusterDeployment)
            await admit_cluster(
                self._store,
                new,
                old,
                catalog_namespace=self._catalog,
                spec_checks=self._checks.provider_spec,
            )
            await admit_services_of(self._store, new, old, catalog_namespace=self._catalog)
        elif isinstance(new, v1alpha1.MultiClusterService):
            await admit_services_of(self._store, new, old, catalog_namespace=self._catalog)
        elif isinstance(new, v1alpha1.ServiceTemplate):
            assert old is None or isinstance(old, v1alpha1.ServiceTemplate)
            admit_service_template(new, old)
        elif isinstance(new, v1alpha1.GitRepository) and (
            overlap := v1alpha1.gitrepository.write_back_overlap(new.spec)
        ):
            raise invalid(new.KIND, new.metadata.name, Cause("spec.writeBack.path", overlap))
        return new

    async def admit_delete(self, obj: v1alpha1.Resource) -> None:
        if isinstance(obj, v1alpha1.ClusterTemplate):
            await admit_template_delete(self._store, obj, catalog_namespace=self._catalog)
        elif isinstance(obj, v1alpha1.Credential):
            await admit_credential_delete(self._store, obj, catalog_namespace=self._catalog)
        elif isinstance(obj, v1alpha1.ServiceTemplate):
            await admit_service_template_delete(self._store, obj, catalog_namespace=self._catalog)


__all__ = ["Admission"]
