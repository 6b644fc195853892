"""Admission against the real store (SQLite and PostgreSQL) with the default catalog installed:
``admitted`` writes through admission as the API does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from orbit import catalog
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.store import SqlStore

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{ replicas }}
  template:
    spec:
      containers:
        - name: web
          image: "{{ values.image }}"
"""

WEB_PARAMETERS = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "minimum": 1, "default": 1},
        "image": {"type": "string", "default": "nginx"},
    },
}


def service_template(
    name: str = "web-1-0-0",
    *,
    resources: str | None = WEB,
    parameters: dict[str, object] | None = None,
    git: v1alpha1.GitSource | None = None,
) -> v1alpha1.ServiceTemplate:
    return v1alpha1.ServiceTemplate(
        metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
        spec=v1alpha1.ServiceTemplateSpec(
            version="1.0.0",
            parameters=parameters if parameters is not None else WEB_PARAMETERS,
            resources=None if git is not None else resources,
            git=git,
        ),
    )


@dataclass
class Env:
    store: SqlStore
    admission: Admission

    async def create(self, obj: v1alpha1.Resource) -> v1alpha1.Resource:
        return await self.store.create(await self.admission.admit(obj, None))

    async def update(self, obj: v1alpha1.Resource) -> v1alpha1.Resource:
        old = await self.store.get(type(obj), obj.metadata.namespace, obj.metadata.name)
        return await self.store.update(await self.admission.admit(obj, old))


@pytest.fixture
async def env(store: SqlStore) -> Env:
    await catalog.install(store)
    return Env(store, Admission(store, providers={"sim"}))
