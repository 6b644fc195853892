"""The real kubectl (v1.32) against a simulated cluster, with the plane's own kubeconfig.

No ``--validate=false`` anywhere: kubectl's apply finds what it needs in the OpenAPI v3
documents. Discovery falls back from aggregated to legacy documents by itself.
"""

from __future__ import annotations

import pytest

from .conftest import POD_LATENCY, FakeClock, Served

pytestmark = pytest.mark.usefixtures("kubectl_binary")

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
  namespace: web
  labels: {app: x}
spec:
  replicas: 2
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        resources:
          requests: {cpu: 100m, memory: 128Mi}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: x-config
  namespace: web
  labels: {app: x}
data:
  greeting: hello
"""

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
"""

WIDGET = """\
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: default, labels: {app: x}}
spec: {size: large}
"""


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


async def test_get_nodes(served: Served) -> None:
    await served.cluster(worker_count=2)
    version = await served.kubectl("version")
    assert "Client Version: v1.32." in version.out
    result = await served.kubectl("get", "nodes")
    assert result.code == 0, result.err
    header, *nodes = rows(result.out)
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [n[0] for n in nodes] == ["c-uid-1-cp-0", "c-uid-1-worker-0", "c-uid-1-worker-1"]
    assert all(n[1] == "Ready" and n[4] == "v1.32.3+k3s1" for n in nodes)
    assert nodes[0][2] == "control-plane,master"
    assert nodes[1][2] == "<none>"


@pytest.mark.parametrize("version", ["v1.30.6+k3s1", "v1.31.2+k3s1", "v1.33.1+k3s1"])
async def test_the_kubectl_matching_the_cluster_version_works(served: Served, version: str) -> None:
    """/usr/bin/kubectl dispatches to the kubectl release that matches the server's version."""
    await served.cluster(kubernetes_version=version)
    assert (await served.kubectl("version")).out.count(f"Server Version: {version}") == 1
    nodes = await served.kubectl("get", "nodes")
    assert nodes.code == 0, nodes.err
    assert rows(nodes.out)[1][4] == version
    applied = await served.kubectl("apply", "--server-side", "-f", "-", stdin=MANIFESTS)
    assert applied.code == 0, applied.err


async def test_apply_get_delete(served: Served, clock: FakeClock) -> None:
    await served.cluster()
    applied = await served.kubectl("apply", "--server-side", "-f", "-", stdin=MANIFESTS)
    assert applied.code == 0, applied.err
    assert applied.out.splitlines() == [
        "namespace/web serverside-applied",
        "deployment.apps/x serverside-applied",
        "configmap/x-config serverside-applied",
    ]

    deploys = await served.kubectl("get", "deploy", "-A")
    assert deploys.code == 0, deploys.err
    assert rows(deploys.out)[0] == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows(deploys.out)[1][:5] == ["web", "x", "0/2", "2", "0"]

    clock.advance(POD_LATENCY)
    deploys = await served.kubectl("get", "deploy", "-A")
    assert rows(deploys.out)[1][:5] == ["web", "x", "2/2", "2", "2"]
    pods = await served.kubectl("get", "pods", "-n", "web", "-l", "app=x")
    assert [r[1:3] for r in rows(pods.out)[1:]] == [["1/1", "Running"]] * 2

    configmaps = await served.kubectl("get", "cm", "-l", "app=x", "-o", "yaml", "-A")
    assert configmaps.code == 0, configmaps.err
    listing = configmaps.yaml()
    assert [i["metadata"]["name"] for i in listing["items"]] == ["x-config"]
    assert listing["items"][0]["data"] == {"greeting": "hello"}

    deleted = await served.kubectl("delete", "cm", "x-config", "-n", "web")
    assert deleted.code == 0, deleted.err
    assert deleted.out.strip() == 'configmap "x-config" deleted'
    gone = await served.kubectl("get", "cm", "x-config", "-n", "web")
    assert gone.code != 0
    assert 'Error from server (NotFound): configmaps "x-config" not found' in gone.err

    namespaces = await served.kubectl("get", "ns")
    assert [r[0] for r in rows(namespaces.out)[1:]] == [
        "default",
        "kube-public",
        "kube-system",
        "web",
    ]
    assert {r[1] for r in rows(namespaces.out)[1:]} == {"Active"}


async def test_apply_again_is_a_no_op_and_a_conflict_names_the_manager(served: Served) -> None:
    await served.cluster()
    assert (await served.kubectl("apply", "--server-side", "-f", "-", stdin=MANIFESTS)).code == 0
    version = "jsonpath={.metadata.resourceVersion}"
    before = await served.kubectl("get", "deploy", "x", "-n", "web", "-o", version)
    assert (await served.kubectl("apply", "--server-side", "-f", "-", stdin=MANIFESTS)).code == 0
    after = await served.kubectl("get", "deploy", "x", "-n", "web", "-o", version)
    assert before.out == after.out

    patched = await served.kubectl(
        "patch", "deploy", "x", "-n", "web", "--type", "merge", "-p", '{"spec":{"replicas":3}}'
    )
    assert patched.code == 0, patched.err
    conflict = await served.kubectl("apply", "--server-side", "-f", "-", stdin=MANIFESTS)
    assert conflict.code != 0
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas'
        in conflict.err
    )
    forced = await served.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=MANIFESTS
    )
    assert forced.code == 0, forced.err
    replicas = await served.kubectl(
        "get", "deploy", "x", "-n", "web", "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas.out == "2"


async def test_crd_then_custom_objects(served: Served) -> None:
    await served.cluster()
    crd = await served.kubectl("apply", "--server-side", "-f", "-", stdin=CRD)
    assert crd.code == 0, crd.err
    assert crd.out.strip() == (
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied"
    )
    widget = await served.kubectl("apply", "--server-side", "-f", "-", stdin=WIDGET)
    assert widget.code == 0, widget.err
    assert widget.out.strip() == "widget.example.com/w1 serverside-applied"

    listed = await served.kubectl("get", "wd", "-A")
    assert rows(listed.out)[0] == ["NAMESPACE", "NAME", "SIZE", "AGE"]
    assert rows(listed.out)[1][:3] == ["default", "w1", "large"]
    shown = (await served.kubectl("get", "widget", "w1", "-o", "yaml")).yaml()
    assert shown["apiVersion"] == "example.com/v1"
    assert shown["spec"] == {"size": "large"}
    resources = await served.kubectl("api-resources", "--api-group", "example.com")
    assert "widgets" in resources.out and "Widget" in resources.out

    removed = await served.kubectl("delete", "crd", "widgets.example.com")
    assert removed.code == 0, removed.err
    after = await served.kubectl("get", "widgets.example.com", "-A")
    assert after.code != 0


async def test_errors_read_like_kubernetes(served: Served) -> None:
    await served.cluster()
    missing = await served.kubectl("get", "deploy", "nope")
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in missing.err
    no_namespace = await served.kubectl("create", "configmap", "c", "-n", "nowhere")
    assert 'namespaces "nowhere" not found' in no_namespace.err
    protected = await served.kubectl("delete", "ns", "default")
    assert "this namespace may not be deleted" in protected.err
    created = await served.kubectl("create", "configmap", "c", "--from-literal=a=b")
    assert created.code == 0, created.err
    again = await served.kubectl("create", "configmap", "c", "--from-literal=a=b")
    assert 'configmaps "c" already exists' in again.err


async def test_wrong_token_is_refused(served: Served) -> None:
    await served.cluster()
    await served.cluster("uid-2")
    config = await served.kubeconfig("uid-1")
    other = (await served.kubeconfig("uid-2")).read_text()
    token = other.split("token: ")[1].split()[0]
    mine = config.read_text().split("token: ")[1].split()[0]
    bad = served.tmp / "bad-kubeconfig"
    bad.write_text(config.read_text().replace(mine, token))
    result = await served.kubectl("get", "ns", "--kubeconfig", str(bad))
    assert result.code != 0
    assert "Unauthorized" in result.err or "provide credentials" in result.err


async def test_rollout_status_follows_the_watch(served_live: Served) -> None:
    await served_live.cluster()
    applied = await served_live.kubectl("apply", "--server-side", "-f", "-", stdin=MANIFESTS)
    assert applied.code == 0, applied.err
    rollout = await served_live.kubectl(
        "rollout", "status", "deployment/x", "-n", "web", "--timeout=60s"
    )
    assert rollout.code == 0, rollout.err
    assert 'deployment "x" successfully rolled out' in rollout.out
    described = await served_live.kubectl("describe", "deployment", "x", "-n", "web")
    assert described.code == 0, described.err
    assert "nginx:1.27" in described.out


async def test_scale_label_and_logs(served: Served, clock: FakeClock) -> None:
    await served.cluster()
    assert (await served.kubectl("apply", "--server-side", "-f", "-", stdin=MANIFESTS)).code == 0
    scaled = await served.kubectl("scale", "deployment", "x", "-n", "web", "--replicas=3")
    assert scaled.code == 0, scaled.err
    clock.advance(POD_LATENCY)
    deploys = await served.kubectl("get", "deploy", "x", "-n", "web")
    assert rows(deploys.out)[1][:4] == ["x", "3/3", "3", "3"]
    labeled = await served.kubectl("label", "cm", "x-config", "-n", "web", "tier=front")
    assert labeled.code == 0, labeled.err
    shown = await served.kubectl("get", "cm", "-n", "web", "-l", "tier=front", "-o", "name")
    assert shown.out.strip() == "configmap/x-config"
    logs = await served.kubectl("logs", "deployment/x", "-n", "web")
    assert logs.code == 0, logs.err
    removed = await served.kubectl("delete", "ns", "web")
    assert removed.code == 0, removed.err
    assert "No resources found" in (await served.kubectl("get", "deploy", "-A")).err


async def test_imperative_creates_send_protobuf(served: Served) -> None:
    """kubectl 1.32 sends these as protobuf; kinds the plane cannot read say so."""
    await served.cluster()
    commands = [
        ("create", "namespace", "tools"),
        ("create", "configmap", "settings", "-n", "tools", "--from-literal=a=b"),
        ("create", "secret", "generic", "pw", "-n", "tools", "--from-literal=pw=hunter2"),
        ("create", "serviceaccount", "robot", "-n", "tools"),
    ]
    for command in commands:
        result = await served.kubectl(*command)
        assert result.code == 0, result.err
    shown = (await served.kubectl("get", "cm", "settings", "-n", "tools", "-o", "yaml")).yaml()
    assert shown["data"] == {"a": "b"}
    assert "generateName" not in shown["metadata"]
    secret = (await served.kubectl("get", "secret", "pw", "-n", "tools", "-o", "yaml")).yaml()
    assert (secret["type"], secret["data"]) == ("Opaque", {"pw": "aHVudGVyMg=="})
    names = await served.kubectl("get", "sa", "-n", "tools", "-o", "name")
    assert names.out.split() == ["serviceaccount/robot"]
    refused = await served.kubectl("create", "deployment", "d", "--image=nginx")
    assert refused.code != 0
    assert "send JSON (kubectl apply does)" in refused.err
