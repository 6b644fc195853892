"""The default catalog: what ``orbit up`` installs on first start so a new user can create a
cluster at once (a ``sim`` credential and single-node and HA templates in two versions).

Installed once: a marker annotation on the ``default`` Namespace records it, so objects a user
deleted on purpose do not come back on the next start.
"""

from __future__ import annotations

import logging
from importlib import resources

import yaml

from orbit.api import v1alpha1
from orbit.errors import AlreadyExists, NotFound
from orbit.store.base import ResourceStore

MARKER = "orbit.k8or.io/default-catalog"
CATALOG_VERSION = "1"

log = logging.getLogger("orbit.catalog")


def catalog_objects() -> list[v1alpha1.Resource]:
    text = resources.files(__package__).joinpath("sim.yaml").read_text()
    return [
        v1alpha1.kind_for(doc["kind"]).model_validate(doc)
        for doc in yaml.safe_load_all(text)
        if doc
    ]


async def ensure_namespace(store: ResourceStore, name: str) -> v1alpha1.Namespace:
    try:
        return await store.get(v1alpha1.Namespace, None, name)
    except NotFound:
        try:
            return await store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=name)))
        except AlreadyExists:
            return await store.get(v1alpha1.Namespace, None, name)


async def ensure_default_namespace(store: ResourceStore) -> v1alpha1.Namespace:
    """``default``, and the fleet namespace whose GitRepositories manage every namespace."""
    await ensure_namespace(store, v1alpha1.FLEET_NAMESPACE)
    return await ensure_namespace(store, "default")


async def install(store: ResourceStore) -> bool:
    """Install the catalog unless it was installed before; True when it installed now."""
    namespace = await ensure_default_namespace(store)
    if namespace.metadata.annotations.get(MARKER) == CATALOG_VERSION:
        return False
    for obj in catalog_objects():
        try:
            await store.create(obj)
            log.info("Installed %s %s from the default catalog", obj.KIND, obj.metadata.name)
        except AlreadyExists:
            pass
    namespace.metadata.annotations[MARKER] = CATALOG_VERSION
    namespace.metadata.resource_version = None
    await store.update(namespace)
    return True
