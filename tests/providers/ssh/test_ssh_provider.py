"""The ssh provider's refusals and translations, without installing anything: bad settings name
their field, a forged host key is permanent, an unreachable host transient, and no message
carries the private key; K3s's kubeconfig is pointed at the server's address; a drain where the
API serves no eviction deletes the pods instead and finishes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncssh
import httpx2
import lightkube
import pytest
import yaml
from lightkube.models.core_v1 import PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Pod

from orbit.api import v1alpha1
from orbit.providers.base import (
    ClusterRef,
    DesiredCluster,
    ProviderPermanentError,
    ProviderTransientError,
)
from orbit.providers.ssh import SshProvider, k3s, kube
from orbit.providers.ssh.hosts import Access, HostAddr

from .conftest import V1, Lab, free_port

REF = ClusterRef(uid="5sh-uid", namespace="team-a", name="alpha")


def desired(spec: dict[str, object], workers: int = 1) -> DesiredCluster:
    return DesiredCluster(
        ref=REF,
        kubernetes_version=V1,
        control_plane=v1alpha1.MachineGroup(count=1),
        workers=v1alpha1.MachineGroup(count=workers),
        provider_spec=spec,
    )


def key_credential(**config: object) -> v1alpha1.Credential:
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    return v1alpha1.Credential(
        metadata=v1alpha1.ObjectMeta(name="c", namespace="team-a"),
        spec=v1alpha1.CredentialSpec(
            provider="ssh", config=dict(config), secret_data={"privateKey": key}
        ),
    )


async def test_a_bad_provider_spec_names_the_field() -> None:
    spec = {"hostPools": {"servers": [{"address": "10.0.0.1"}], "agents": [{"address": "a b"}]}}
    with pytest.raises(ProviderPermanentError) as err:
        await SshProvider().ensure_cluster(desired(spec), key_credential())
    assert "spec.cluster.providerSpec.hostPools.agents[0].address" in str(err.value)


async def test_more_workers_than_the_pool_holds() -> None:
    spec = {"hostPools": {"servers": [{"address": "10.0.0.1"}]}}
    with pytest.raises(ProviderPermanentError, match=r"hostPools.agents: 1 agent hosts wanted"):
        await SshProvider().ensure_cluster(desired(spec), key_credential())


async def test_a_credential_without_a_key_or_with_a_broken_one() -> None:
    cred = key_credential()
    no_key = cred.model_copy(update={"spec": cred.spec.model_copy(update={"secret_data": {}})})
    with pytest.raises(ProviderPermanentError, match=r"no secretData\.privateKey"):
        Access(no_key)
    broken = cred.spec.model_copy(update={"secret_data": {"privateKey": "-----BEGIN x"}})
    with pytest.raises(ProviderPermanentError, match="not a usable private key") as err:
        Access(cred.model_copy(update={"spec": broken}))
    assert "BEGIN" not in str(err.value)


def test_the_inventory_is_the_pinned_and_listed_hosts() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    salt = os.urandom(20)
    digest = hmac.new(salt, b"10.0.0.7", hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    pins = f"10.0.0.1 {key}\n[10.0.0.2]:2222,h3.example {key}\n{hashed} {key}\n"
    access = Access(key_credential(knownHosts=pins, hosts=["10.0.0.9:2200"]))
    assert access.inventory == (
        HostAddr("10.0.0.1"),
        HostAddr("10.0.0.2", 2222),
        HostAddr("10.0.0.9", 2200),
        HostAddr("h3.example"),
    )


def test_the_kubeconfig_points_at_the_server() -> None:
    raw = yaml.safe_dump(
        {
            "clusters": [{"name": "default", "cluster": {"server": "https://127.0.0.1:6443"}}],
            "users": [{"name": "default", "user": {"token": "t"}}],
            "contexts": [{"name": "default", "context": {"cluster": "default"}}],
        }
    ).encode()
    config, server = k3s.rewrite_kubeconfig(raw, address="10.0.0.11", ref=REF)
    doc = yaml.safe_load(config)
    assert server == doc["clusters"][0]["cluster"]["server"] == "https://10.0.0.11:6443"
    assert doc["current-context"] == "team-a-alpha"


async def test_a_forged_host_key_is_refused(lab: Lab) -> None:
    host = lab.hosts[0]
    forged = lab.known_hosts().replace(
        host.known_hosts_line(),
        host.known_hosts_line(asyncssh.generate_private_key("ssh-ed25519")),
    )
    with pytest.raises(ProviderPermanentError) as err:
        await SshProvider().ensure_cluster(
            desired(lab.provider_spec()), lab.credential(known_hosts=forged)
        )
    message = str(err.value)
    assert f"host {host.address}:{host.port}: its host key does not match" in message
    assert "BEGIN" not in message
    assert not (lab.state_dir / f"{host.address}_{host.port}").exists()


async def test_an_unpinned_host_is_refused_unless_trusted_on_first_use(lab: Lab) -> None:
    host = lab.hosts[0]
    listed = f"{host.address}:{host.port}"
    cred = lab.credential(known_hosts="")
    cred.spec.config["hosts"] = [listed]
    spec = {**lab.provider_spec(hosts=1)}
    with pytest.raises(ProviderPermanentError, match="no host key is pinned"):
        await SshProvider().ensure_cluster(desired(spec, workers=0), cred)
    # Trusted on first use, the host is reached (and claimed: the install starts).
    obs = await SshProvider().ensure_cluster(
        desired({**spec, "trustOnFirstUse": True}, workers=0), cred
    )
    assert obs.message.startswith(f"installing K3s {V1} on server {listed} (1/1 nodes)")
    assert (await SshProvider().delete_cluster(REF, cred)).gone


async def test_an_unreachable_host_is_transient(lab: Lab) -> None:
    port = free_port("127.0.0.11")  # nothing listens there
    pins = f"[127.0.0.11]:{port} " + lab.hosts[0].known_hosts_line().split(" ", 1)[1]
    spec = {"hostPools": {"servers": [{"address": "127.0.0.11", "port": port}]}}
    with pytest.raises(ProviderTransientError, match="is unreachable"):
        await SshProvider().ensure_cluster(
            desired(spec, workers=0), lab.credential(known_hosts=pins)
        )


class _NoEvictionApi:
    """A Kubernetes API without the eviction subresource (404 on it), as far as drain uses it."""

    def __init__(self) -> None:
        self.pods = {("default", "web-1"): "n1", ("default", "web-2"): "n2"}
        self.cordoned: list[str] = []
        self.deleted: list[str] = []

    async def patch(self, _kind: object, name: str, body: dict[str, Any], **_: object) -> None:
        assert body == {"spec": {"unschedulable": True}}
        self.cordoned.append(name)

    async def list(self, _kind: object, **_: object) -> AsyncIterator[Pod]:
        for (namespace, name), node in list(self.pods.items()):
            yield Pod(metadata=ObjectMeta(name=name, namespace=namespace), spec=PodSpec(
                containers=[], nodeName=node))  # fmt: skip

    async def create(self, _obj: object, name: str, *, namespace: str) -> None:
        raise _api_error(404)

    async def delete(self, _kind: object, name: str, *, namespace: str) -> None:
        if self.pods.pop((namespace, name), None) is None:
            raise _api_error(404)
        self.deleted.append(f"{namespace}/{name}")


def _api_error(code: int) -> lightkube.ApiError:
    request = httpx2.Request("POST", "https://k3s.test/")
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    return lightkube.ApiError(request=request, response=httpx2.Response(code, json=body))


async def test_drain_deletes_pods_where_eviction_is_not_served() -> None:
    api = _NoEvictionApi()
    client = cast(lightkube.AsyncClient, api)
    assert await kube.drain(client, "n1") == 1  # deleted, still terminating
    assert api.cordoned == ["n1"] and api.deleted == ["default/web-1"]
    assert await kube.drain(client, "n1") == 0  # gone: the drain is done
    # A pod that is listed but answers 404 to both is gone, not left for ever.
    api.pods[("default", "web-3")] = "n1"
    api.delete = _gone  # type: ignore[method-assign]
    assert await kube.drain(client, "n1") == 0
    assert ("default", "web-2") in api.pods  # other nodes' pods are not touched


async def _gone(_kind: object, name: str, *, namespace: str) -> None:
    raise _api_error(404)
