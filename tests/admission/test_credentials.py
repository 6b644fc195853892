"""Credential admission: a credential names an installed provider, or is a webhook's signing
secret (provider ``webhook``), which no cluster can use."""

from __future__ import annotations

import pytest

from orbit import errors
from orbit.api import v1alpha1

from .conftest import Env


def credential(name: str, provider: str) -> v1alpha1.Credential:
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name=name, namespace="default"),
        spec=v1alpha1.CredentialSpec(provider=provider, secret_data={"secret": "s3cr3t-value"}),
    )


async def test_unknown_provider_is_refused_and_named(env: Env) -> None:
    with pytest.raises(errors.Invalid) as refused:
        await env.create(credential("nope", "nope"))
    assert [(c.field, c.message) for c in refused.value.causes] == [
        ("spec.provider", "unknown provider 'nope'; this Orbit has: git, sim, webhook")
    ]


async def test_a_signing_secret_is_admitted_but_backs_no_cluster(env: Env) -> None:
    await env.create(credential("hook-secret", v1alpha1.SIGNING_PROVIDER))
    cluster = v1alpha1.ClusterDeployment(
        metadata=v1alpha1.ObjectMeta(name="c1", namespace="default"),
        spec=v1alpha1.ClusterDeploymentSpec(template="sim-single-1-0-0", credential="hook-secret"),
    )
    with pytest.raises(errors.Invalid) as refused:
        await env.create(cluster)
    assert [c.field for c in refused.value.causes] == ["spec.credential"]
    assert "is for provider 'webhook'" in refused.value.causes[0].message
