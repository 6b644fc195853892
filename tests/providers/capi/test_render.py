"""Rendering: the Cluster API objects of a cluster, per infrastructure and control plane, and
the permanent errors a bad providerSpec or credential config gives (naming the field)."""

from __future__ import annotations

from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.providers.base import ClusterRef, DesiredCluster, ProviderPermanentError
from orbit.providers.capi import render, settings

from .conftest import AWS_INFRA, DOCKER_INFRA, V1, credential

REF = ClusterRef(uid="6f1c2d3e-aaaa-bbbb-cccc-0123456789ab", namespace="team-a", name="alpha")


def desired(spec: dict[str, Any], *, workers: int = 2, size: str = "small") -> DesiredCluster:
    return DesiredCluster(
        ref=REF,
        kubernetes_version=V1,
        control_plane=v1alpha1.MachineGroup(count=3, machine_size="medium"),
        workers=v1alpha1.MachineGroup(count=workers, machine_size=size),
        labels={"env": "prod"},
        provider_spec=spec,
    )


def rendered(spec: dict[str, Any], infra: dict[str, Any], **kw: Any) -> render.Rendered:
    config = settings.credential_config(credential("x", infrastructure=infra))
    cluster = desired(spec, **kw)
    return render.render(cluster, config, settings.provider_spec(cluster.provider_spec))


def by_kind(out: render.Rendered) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in out.objects}


def test_docker_k3s_objects_names_labels_and_refs() -> None:
    spec = {
        "infrastructure": {"machine": {"customImage": "kindest/node:v1.30.6"}},
        "bootstrap": {"spec": {"agentConfig": {"nodeName": "{{ ds.meta_data.local_hostname }}"}}},
        "clusterNetwork": {"pods": {"cidrBlocks": ["10.45.0.0/16"]}},
    }
    out = rendered(spec, DOCKER_INFRA)
    kinds = [o["kind"] for o in out.objects]
    assert kinds == [
        "DockerCluster",
        "DockerMachineTemplate",
        "KThreesConfigTemplate",
        "DockerMachineTemplate",
        "KThreesControlPlane",
        "Cluster",
        "MachineDeployment",
    ]
    objs = by_kind(out)
    name = out.names.cluster
    assert name.startswith("alpha-") and len(name) == len("alpha-") + 8
    assert render.names(REF) == out.names  # stable: derived from name and uid only
    for obj in out.objects:
        labels = obj["metadata"]["labels"]
        assert labels[render.LABEL_UID] == REF.uid
        assert labels[render.CAPI_CLUSTER_NAME] == name
        assert labels[render.LABEL_MANAGED_BY] == "orbit"
        assert obj["metadata"]["namespace"] == "capi-clusters"
    assert "spec" not in objs["DockerCluster"]  # nothing set: other controllers write there

    cluster = objs["Cluster"]
    assert cluster["apiVersion"] == "cluster.x-k8s.io/v1beta1"
    assert cluster["metadata"]["name"] == name
    assert cluster["metadata"]["labels"]["env"] == "prod"
    assert cluster["spec"]["controlPlaneRef"] == {
        "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
        "kind": "KThreesControlPlane",
        "name": f"{name}-control-plane",
    }
    assert cluster["spec"]["infrastructureRef"] == {
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
        "kind": "DockerCluster",
        "name": name,
    }
    assert cluster["spec"]["clusterNetwork"] == {"pods": {"cidrBlocks": ["10.45.0.0/16"]}}

    cp = objs["KThreesControlPlane"]
    assert cp["spec"]["replicas"] == 3 and cp["spec"]["version"] == V1
    cp_template = cp["spec"]["machineTemplate"]["infrastructureRef"]
    assert cp_template["kind"] == "DockerMachineTemplate"
    assert cp_template["name"].startswith(f"{name}-cp-")
    assert cp["spec"]["machineTemplate"]["metadata"]["labels"][render.LABEL_SIZE] == "medium"

    md = objs["MachineDeployment"]
    assert md["metadata"]["name"] == f"{name}-md-0"
    assert md["spec"]["replicas"] == 2 and md["spec"]["clusterName"] == name
    template = md["spec"]["template"]
    assert template["spec"]["version"] == V1
    assert template["spec"]["bootstrap"]["configRef"]["kind"] == "KThreesConfigTemplate"
    assert template["spec"]["bootstrap"]["configRef"]["apiVersion"] == (
        "bootstrap.cluster.x-k8s.io/v1beta2"
    )
    assert md["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    boot = objs["KThreesConfigTemplate"]
    assert boot["spec"]["template"]["spec"] == {
        "agentConfig": {"nodeName": "{{ ds.meta_data.local_hostname }}"}
    }
    assert "version" not in boot["spec"]["template"]["spec"]  # the Machine's version is used
    machine_templates = [o for o in out.objects if o["kind"] == "DockerMachineTemplate"]
    for mt in machine_templates:
        assert mt["spec"]["template"]["spec"] == {"customImage": "kindest/node:v1.30.6"}


def test_aws_infra_fields_sizes_and_identity() -> None:
    spec = {
        "infrastructure": {
            "cluster": {"region": "eu-west-1", "sshKeyName": "ops"},
            "machine": {"ami": {"id": "ami-1"}, "iamInstanceProfile": "nodes"},
            "machineSizes": {
                "small": {"instanceType": "t3.small"},
                "medium": {"instanceType": "t3.medium"},
            },
            "controlPlaneMachine": {"iamInstanceProfile": "control-plane"},
        }
    }
    out = rendered(spec, AWS_INFRA)
    objs = by_kind(out)
    aws = objs["AWSCluster"]
    assert aws["apiVersion"] == "infrastructure.cluster.x-k8s.io/v1beta2"
    assert aws["spec"] == {
        "region": "eu-west-1",
        "sshKeyName": "ops",
        "identityRef": {"kind": "AWSClusterStaticIdentity", "name": "orbit-aws"},
    }
    templates = {
        o["metadata"]["labels"][render.LABEL_ROLE]: o["spec"]["template"]["spec"]
        for o in out.objects
        if o["kind"] == "AWSMachineTemplate"
    }
    assert templates["control-plane"] == {
        "ami": {"id": "ami-1"},
        "iamInstanceProfile": "control-plane",
        "instanceType": "t3.medium",
    }
    assert templates["worker"] == {
        "ami": {"id": "ami-1"},
        "iamInstanceProfile": "nodes",
        "instanceType": "t3.small",
    }
    # A new size is a new (immutable) template, under a new name; the MachineDeployment follows.
    bigger = rendered(spec, AWS_INFRA, size="medium")
    old_ref = objs["MachineDeployment"]["spec"]["template"]["spec"]["infrastructureRef"]["name"]
    new_ref = by_kind(bigger)["MachineDeployment"]["spec"]["template"]["spec"]
    assert new_ref["infrastructureRef"]["name"] != old_ref
    # Scaling and upgrading rename nothing.
    same = rendered(spec, AWS_INFRA, workers=5)
    assert [o["metadata"]["name"] for o in same.objects] == [
        o["metadata"]["name"] for o in out.objects
    ]


def test_k0smotron_control_plane_is_hosted() -> None:
    spec = {
        "controlPlane": {
            "kind": "K0smotronControlPlane",
            "spec": {"service": {"type": "LoadBalancer", "apiPort": 6443}},
        }
    }
    out = rendered(spec, DOCKER_INFRA)
    kinds = [o["kind"] for o in out.objects]
    assert kinds == [
        "DockerCluster",
        "K0sWorkerConfigTemplate",
        "DockerMachineTemplate",
        "K0smotronControlPlane",
        "Cluster",
        "MachineDeployment",
    ]
    objs = by_kind(out)
    cp = objs["K0smotronControlPlane"]
    assert cp["apiVersion"] == "controlplane.cluster.x-k8s.io/v1beta1"
    assert cp["spec"] == {
        "service": {"type": "LoadBalancer", "apiPort": 6443},
        "replicas": 3,
        "version": V1,
    }
    assert cp["metadata"]["labels"][render.LABEL_SIZE] == "medium"
    assert objs["Cluster"]["spec"]["controlPlaneRef"]["kind"] == "K0smotronControlPlane"
    boot = objs["MachineDeployment"]["spec"]["template"]["spec"]["bootstrap"]["configRef"]
    assert boot["apiVersion"] == "bootstrap.cluster.x-k8s.io/v1beta1"
    assert boot["kind"] == "K0sWorkerConfigTemplate"


def test_names_are_unique_per_uid_and_dns_safe() -> None:
    a = render.names(ClusterRef(uid="u-1", namespace="t", name="Web_App.Prod" * 6))
    b = render.names(ClusterRef(uid="u-2", namespace="t", name="Web_App.Prod" * 6))
    assert a.cluster != b.cluster
    for n in (a, b):
        assert len(n.machine_deployment) <= 63
        assert n.cluster == n.cluster.lower() and "_" not in n.cluster and "." not in n.cluster


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        (
            {"controlPlane": {"kind": "KubeadmControlPlane"}},
            f"{settings.SPEC_PATH}.controlPlane.kind",
        ),
        ({"controlPlane": {"spec": {"replicas": 3}}}, f"{settings.SPEC_PATH}.controlPlane.spec"),
        ({"infrastructure": {"machin": {}}}, f"{settings.SPEC_PATH}.infrastructure.machin"),
        (
            {"infrastructure": {"cluster": "eu-west-1"}},
            f"{settings.SPEC_PATH}.infrastructure.cluster",
        ),
        (
            {"infrastructure": {"cluster": {"identityRef": {}}}},
            f"{settings.SPEC_PATH}.infrastructure.cluster",
        ),
        (
            {"controlPlane": {"apiVersion": "v1beta2"}},
            f"{settings.SPEC_PATH}.controlPlane.apiVersion",
        ),
    ],
)
def test_a_bad_provider_spec_names_the_field(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(ProviderPermanentError) as caught:
        settings.provider_spec(spec)
    assert f"{path}:" in str(caught.value)


def test_an_unknown_machine_size_names_the_sizes() -> None:
    sizes = {"small": {"instanceType": "t3.small"}, "medium": {"instanceType": "t3.medium"}}
    spec = {"infrastructure": {"machineSizes": sizes}}
    with pytest.raises(ProviderPermanentError) as caught:
        rendered(spec, AWS_INFRA, size="huge")
    message = str(caught.value)
    assert f"{settings.SPEC_PATH}.infrastructure.machineSizes" in message
    assert '"huge"' in message and "medium, small" in message


@pytest.mark.parametrize(
    ("infra", "field"),
    [
        ({"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2"}, "clusterKind"),
        ({**DOCKER_INFRA, "apiVersion": "v1beta1"}, "apiVersion"),
        ({**DOCKER_INFRA, "identityRef": {"kind": "AWSClusterStaticIdentity"}}, "identityRef.name"),
    ],
)
def test_a_bad_credential_config_names_the_field(infra: dict[str, Any], field: str) -> None:
    with pytest.raises(ProviderPermanentError) as caught:
        settings.credential_config(credential("x", infrastructure=infra))
    assert f"spec.config.infrastructure.{field}:" in str(caught.value)
    assert 'credential "mgmt"' in str(caught.value)


def test_a_credential_without_the_kubeconfig_secret() -> None:
    with pytest.raises(ProviderPermanentError) as caught:
        settings.management_kubeconfig(credential(None))
    assert "kubeconfig" in str(caught.value)


def test_the_entry_point_loads_the_provider() -> None:
    from orbit.providers.registry import ProviderRegistry

    registry = ProviderRegistry()
    registry.load_entry_points()
    assert "capi" in registry
    assert registry.get("capi").name == "capi"


@pytest.mark.parametrize("example", ["docker.yaml", "aws.yaml"])
def test_the_examples_render(example: str) -> None:
    """examples/providers/capi: each template renders and its providerSpec is valid."""
    from pathlib import Path

    import yaml

    from orbit import templating

    path = Path(__file__).resolve().parents[3] / "examples" / "providers" / "capi" / example
    docs = {d["kind"]: d for d in yaml.safe_load_all(path.read_text())}
    cred = v1alpha1.Credential.model_validate(docs["Credential"])
    template = v1alpha1.ClusterTemplate.model_validate(docs["ClusterTemplate"])
    deployment = docs["ClusterDeployment"]["spec"]
    shape = templating.render_shape(template.spec, deployment["config"])
    cluster = DesiredCluster(
        ref=REF,
        kubernetes_version=template.spec.kubernetes_version,
        control_plane=shape.control_plane,
        workers=shape.workers,
        provider_spec=shape.provider_spec,
    )
    out = render.render(
        cluster,
        settings.credential_config(cred),
        settings.provider_spec(shape.provider_spec),
    )
    assert {o["kind"] for o in out.objects} >= {"Cluster", "KThreesControlPlane"}
    if example == "aws.yaml":
        boot = by_kind(out)["KThreesConfigTemplate"]["spec"]["template"]["spec"]
        assert boot["agentConfig"]["nodeName"] == "{{ ds.meta_data.local_hostname }}"
