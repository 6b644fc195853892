"""Small builders and waiters shared by the store tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from orbit.api import v1alpha1
from orbit.store import SqlStore, WatchEvent

# Generous: a loaded CI machine may be slow; a correct store answers in milliseconds.
DEADLINE = 20.0


def namespace(name: str, *, finalizers: list[str] | None = None) -> v1alpha1.Namespace:
    return v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name=name, finalizers=finalizers or []))


def cluster(
    name: str,
    ns: str = "team-a",
    *,
    labels: dict[str, str] | None = None,
    finalizers: list[str] | None = None,
    template: str = "k3s-small-1-0-0",
) -> v1alpha1.ClusterDeployment:
    return v1alpha1.ClusterDeployment(
        metadata=v1alpha1.ObjectMeta(
            name=name, namespace=ns, labels=labels or {}, finalizers=finalizers or []
        ),
        spec=v1alpha1.ClusterDeploymentSpec(template=template, credential="aws-dev"),
    )


def credential(name: str, ns: str = "team-a") -> v1alpha1.Credential:
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name=name, namespace=ns),
        spec=v1alpha1.CredentialSpec(provider="sim"),
    )


async def with_namespace(store: SqlStore, name: str = "team-a") -> v1alpha1.Namespace:
    return await store.create(namespace(name))


async def next_event(events: AsyncIterator[WatchEvent]) -> WatchEvent:
    return await asyncio.wait_for(anext(events), DEADLINE)


async def collect(events: AsyncIterator[WatchEvent], count: int) -> list[WatchEvent]:
    return [await next_event(events) for _ in range(count)]
