"""The k3d provider against the stand-in k3d CLI: the commands each lifecycle step issues,
idempotency, identity by uid, and the errors a person sees when something is missing."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import yaml

from orbit import errors
from orbit.providers.base import (
    ClusterRef,
    DesiredCluster,
    Observation,
    Provider,
    ProviderPermanentError,
    ProviderTransientError,
)
from orbit.providers.k3d import K3dProvider, cli, provider, spec

from .conftest import REF, V1, V2, FakeK3d, credential, desired

NAME = spec.cluster_name(REF)
CRED = credential()


async def converge(p: K3dProvider, want: DesiredCluster, *, steps: int = 20) -> Observation:
    for _ in range(steps):
        obs = await p.ensure_cluster(want, CRED)
        if not obs.message:
            return obs
    raise AssertionError(f"not converged in {steps} steps: {obs}")


def test_entry_point_factory_returns_a_provider() -> None:
    made: Provider = provider()
    assert made.name == "k3d"


def test_cluster_names_are_short_valid_and_unique_per_uid() -> None:
    long = ClusterRef(uid="u-1", namespace="team-a", name="A_Very.Long--Name-for-a-cluster-x")
    name = spec.cluster_name(long)
    assert len(name) <= 32 and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name)
    assert name.startswith("a-very-long-name-for")
    assert spec.cluster_name(long) == name, "a pure function of the ref"
    again = replace(long, uid="u-2")  # the same name, re-created: a new uid
    assert spec.cluster_name(again) != name
    assert spec.cluster_name(replace(long, name="---")).startswith("orbit-")


def test_versions_map_to_image_tags_and_back() -> None:
    assert spec.image_tag("v1.31.2+k3s1") == "v1.31.2-k3s1"
    assert spec.version_of("rancher/k3s:v1.31.2-k3s1") == "v1.31.2+k3s1"
    assert spec.version_of("reg.local:5000/rancher/k3s:v1.32.0-rc1-k3s2") == "v1.32.0-rc1+k3s2"
    assert spec.version_of("reg.local:5000/k3s") == "latest"
    with pytest.raises(ProviderPermanentError, match="not a K3s release"):
        spec.image_tag("1.31")


async def test_create_issues_one_cluster_create(fake: FakeK3d, provider: K3dProvider) -> None:
    obs = await provider.ensure_cluster(desired(workers=2), CRED)
    assert fake.calls() == [
        ["k3d", "cluster", "list", "-o", "json"],
        ["k3d", "cluster", "create", NAME, "--servers", "1", "--agents", "2",
         "--image", "rancher/k3s:v1.30.6-k3s1", "--wait", "--timeout", "600s",
         "--kubeconfig-update-default=false", "--kubeconfig-switch-context=false",
         "--k3s-arg", "--cluster-init@server:0"],
        ["k3d", "cluster", "list", "-o", "json"],
    ]  # fmt: skip
    assert [(n.role, n.kubernetes_version, n.ready) for n in obs.nodes] == [
        ("control-plane", V1, True),
        ("worker", V1, True),
        ("worker", V1, True),
    ]
    assert obs.infrastructure_ready and obs.ref == REF
    assert obs.endpoint == f"https://127.0.0.1:{fake.state()['clusters'][NAME]['apiPort']}"


async def test_provider_spec_options_reach_cluster_create(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    want = desired(
        servers=3,
        workers=0,
        image="registry.localhost:5000/rancher/k3s",
        apiPort="127.0.0.1:6550",
        ports=["8080:80@loadbalancer"],
        registries=["k3d-registry.localhost:5000"],
        k3sArgs=["--disable=traefik@server:*"],
        extraArgs=["--network", "orbit"],
    )
    await provider.ensure_cluster(want, CRED)
    (create,) = fake.mutations()
    assert create[create.index("--image") + 1] == "registry.localhost:5000/rancher/k3s:v1.30.6-k3s1"
    assert "--cluster-init@server:0" not in create, "k3d starts etcd itself for 3 servers"
    assert create[-10:] == [
        "--api-port", "127.0.0.1:6550", "--port", "8080:80@loadbalancer",
        "--registry-use", "k3d-registry.localhost:5000",
        "--k3s-arg", "--disable=traefik@server:*", "--network", "orbit",
    ]  # fmt: skip


async def test_ensure_when_converged_runs_only_reads(fake: FakeK3d, provider: K3dProvider) -> None:
    first = await converge(provider, desired(workers=2))
    fake.forget()
    again = await provider.ensure_cluster(desired(workers=2), CRED)
    assert fake.mutations() == []
    assert fake.calls() == [["k3d", "cluster", "list", "-o", "json"]]
    assert again == first


async def test_scale_up_creates_agents_one_per_call(fake: FakeK3d, provider: K3dProvider) -> None:
    await converge(provider, desired(workers=1))
    fake.forget()
    obs = await converge(provider, desired(workers=3))
    assert fake.mutations() == [
        ["k3d", "node", "create", f"{NAME}-agent-1", "--cluster", NAME, "--role", "agent",
         "--image", "rancher/k3s:v1.30.6-k3s1", "--wait", "--timeout", "600s"],
        ["k3d", "node", "create", f"{NAME}-agent-2", "--cluster", NAME, "--role", "agent",
         "--image", "rancher/k3s:v1.30.6-k3s1", "--wait", "--timeout", "600s"],
    ]  # fmt: skip
    assert sorted(n.name for n in obs.group("worker")) == [
        f"k3d-{NAME}-agent-0",
        f"k3d-{NAME}-agent-1-0",
        f"k3d-{NAME}-agent-2-0",
    ]


async def test_scale_down_removes_the_node_then_its_container(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    await converge(provider, desired(workers=3))
    fake.forget()
    obs = await converge(provider, desired(workers=1))
    server = f"k3d-{NAME}-server-0"
    assert fake.mutations() == [
        ["docker", "exec", server, "kubectl", "delete", "node", f"k3d-{NAME}-agent-2",
         "--ignore-not-found", "--timeout=120s"],
        ["k3d", "node", "delete", f"k3d-{NAME}-agent-2"],
        ["docker", "exec", server, "kubectl", "delete", "node", f"k3d-{NAME}-agent-1",
         "--ignore-not-found", "--timeout=120s"],
        ["k3d", "node", "delete", f"k3d-{NAME}-agent-1"],
    ]  # fmt: skip
    assert [n.name for n in obs.group("worker")] == [f"k3d-{NAME}-agent-0"]


async def test_upgrade_recreates_nodes_one_at_a_time_servers_first(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    await converge(provider, desired(workers=2))
    fake.forget()
    new = "rancher/k3s:v1.31.2-k3s1"
    seen: list[tuple[int, int]] = []
    for _ in range(20):
        obs = await provider.ensure_cluster(desired(workers=2, version=V2), CRED)
        seen.append((len(obs.group("control-plane")), len(obs.group("worker"))))
        if not obs.message:
            break
    assert {n.kubernetes_version for n in obs.nodes} == {V2}
    assert all(cp <= 2 and w <= 3 for cp, w in seen), f"more than one surge node: {seen}"
    new_server = f"k3d-{NAME}-server-1-0"
    assert fake.mutations()[:3] == [
        ["k3d", "node", "create", f"{NAME}-server-1", "--cluster", NAME, "--role", "server",
         "--image", new, "--wait", "--timeout", "600s"],
        ["docker", "exec", new_server, "kubectl", "delete", "node", f"k3d-{NAME}-server-0",
         "--ignore-not-found", "--timeout=120s"],
        ["k3d", "node", "delete", f"k3d-{NAME}-server-0"],
    ]  # fmt: skip
    rest = fake.mutations()[3:]
    assert [c[:3] for c in rest] == [  # then the agents, each replaced before the next
        ["k3d", "node", "create"],
        ["docker", "exec", new_server],
        ["k3d", "node", "delete"],
        ["k3d", "node", "create"],
        ["docker", "exec", new_server],
        ["k3d", "node", "delete"],
    ]
    assert all(c[c.index("--image") + 1] == new for c in rest if "create" in c)
    assert {n["image"] for n in fake.nodes(NAME) if n["role"] != "loadbalancer"} == {new}


async def test_old_nodes_stay_until_their_replacement_runs(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    await converge(provider, desired(workers=1))
    fake.update(pending=True)  # new containers come up stopped
    fake.forget()
    obs = await provider.ensure_cluster(desired(workers=1, version=V2), CRED)
    assert [c[1:3] for c in fake.mutations()] == [["node", "create"]]
    fake.forget()
    for _ in range(3):
        obs = await provider.ensure_cluster(desired(workers=1, version=V2), CRED)
        assert "waiting for control-plane" in obs.message
    assert fake.mutations() == [], "nothing is removed while the replacement is not running"
    fake.update(pending=False)
    fake.set_running(NAME, True)
    obs = await converge(provider, desired(workers=1, version=V2))
    assert {n.kubernetes_version for n in obs.nodes} == {V2}


async def test_a_node_removed_behind_orbits_back_is_recreated(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    await converge(provider, desired(workers=2))
    state = fake.state()
    nodes = state["clusters"][NAME]["nodes"]
    state["clusters"][NAME]["nodes"] = [n for n in nodes if n["name"] != f"k3d-{NAME}-agent-0"]
    fake.update(clusters=state["clusters"])
    fake.forget()
    obs = await converge(provider, desired(workers=2))
    assert [c[1:4] for c in fake.mutations()] == [["node", "create", f"{NAME}-agent-0"]]
    assert len(obs.group("worker")) == 2


async def test_delete_and_kubeconfig(fake: FakeK3d, provider: K3dProvider) -> None:
    await converge(provider, desired())
    fake.forget()
    config = yaml.safe_load(await provider.kubeconfig(REF, CRED))
    assert fake.calls()[-1] == ["k3d", "kubeconfig", "get", NAME]
    assert config["users"][0]["user"]["client-certificate-data"]
    fake.forget()
    assert (await provider.delete_cluster(REF, CRED)).gone
    assert fake.mutations() == [["k3d", "cluster", "delete", NAME]]
    fake.forget()
    assert (await provider.delete_cluster(REF, CRED)).gone
    assert await provider.observe(REF, CRED) is None
    with pytest.raises(errors.NotFound):
        await provider.kubeconfig(REF, CRED)
    assert fake.mutations() == []
    assert ["k3d", "kubeconfig", "get", NAME] not in fake.calls()


async def test_a_recreated_object_never_adopts_the_old_cluster(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    await converge(provider, desired())
    reborn = replace(REF, uid="another-uid")
    assert await provider.observe(reborn, CRED) is None
    await converge(provider, desired(ref=reborn))
    assert sorted(fake.state()["clusters"]) == sorted([NAME, spec.cluster_name(reborn)])


async def test_k3d_missing_is_permanent_and_says_what_to_do(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    fake.remove("k3d")
    calls = [
        provider.ensure_cluster(desired(), CRED),
        provider.observe(REF, CRED),
        provider.delete_cluster(REF, CRED),
        provider.kubeconfig(REF, CRED),
    ]
    for call in calls:
        with pytest.raises(ProviderPermanentError) as err:
            await call
        assert "the k3d CLI was not found" in str(err.value)
        assert "install k3d (https://k3d.io)" in str(err.value)
        assert "config.k3dPath" in str(err.value)


async def test_k3d_path_from_the_credential(
    fake: FakeK3d, provider: K3dProvider, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fake.remove("k3d")
    elsewhere = fake.install("k3d").rename(tmp_path_factory.mktemp("opt") / "k3d-5.7")
    cred = credential(k3dPath=str(elsewhere))
    assert (await provider.ensure_cluster(desired(), cred)).nodes
    with pytest.raises(ProviderPermanentError, match="not found at '/nowhere/k3d'"):
        await provider.observe(REF, credential(k3dPath="/nowhere/k3d"))


async def test_docker_not_running_is_permanent_with_dockers_words(
    fake: FakeK3d, provider: K3dProvider
) -> None:
    fake.update(docker="down")
    with pytest.raises(ProviderPermanentError) as err:
        await provider.ensure_cluster(desired(), CRED)
    assert str(err.value).startswith(
        "Docker is not reachable: Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?"
    )
    assert ["docker", "info", "--format", "{{.ServerVersion}}"] in fake.calls()


async def test_docker_missing_is_permanent(fake: FakeK3d, provider: K3dProvider) -> None:
    fake.update(docker="down")
    fake.remove("docker")
    with pytest.raises(ProviderPermanentError, match="Docker is not reachable: the docker CLI"):
        await provider.observe(REF, CRED)


async def test_a_docker_blip_is_transient(fake: FakeK3d, provider: K3dProvider) -> None:
    # k3d could not reach the daemon, but docker info can: retry.
    fault = {"stderr": f"FATA[0000] failed to list clusters: {cli_docker_down()}", "times": 1}
    fake.update(fail={"k3d cluster list": fault})
    with pytest.raises(ProviderTransientError, match="Cannot connect to the Docker daemon"):
        await provider.observe(REF, CRED)
    assert await provider.observe(REF, CRED) is None


def cli_docker_down() -> str:
    return "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        ("ERRO[0003] Failed waiting: context deadline exceeded", ProviderTransientError),
        ("FATA[0001] Error response from daemon: i/o timeout", ProviderTransientError),
        ("Error: unknown flag: --agnets", ProviderPermanentError),
        ("FATA[0002] failed to pull image: manifest unknown", ProviderPermanentError),
    ],
)
async def test_failures_are_sorted_transient_or_permanent(
    fake: FakeK3d, provider: K3dProvider, stderr: str, error: type[Exception]
) -> None:
    fake.update(fail={"k3d cluster create": {"stderr": stderr}})
    with pytest.raises(error) as err:
        await provider.ensure_cluster(desired(), CRED)
    assert stderr.split("] ")[-1] in str(err.value)
    assert f"`k3d cluster create {NAME}" in str(err.value)


async def test_a_missing_image_is_permanent(fake: FakeK3d, provider: K3dProvider) -> None:
    fake.update(missingImages=["rancher/k3s:v1.30.6-k3s1"])
    with pytest.raises(ProviderPermanentError, match="manifest unknown"):
        await provider.ensure_cluster(desired(), CRED)


async def test_a_hung_command_is_stopped_and_transient(
    fake: FakeK3d, provider: K3dProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "READ_TIMEOUT", 0.5)
    fake.update(fail={"k3d cluster list": {"sleep": 30}})
    with pytest.raises(ProviderTransientError, match=r"did not finish within 0.5s"):
        await provider.observe(REF, CRED)


@pytest.mark.parametrize(
    ("provider_spec", "field"),
    [
        ({"image": "rancher/k3s:v1.31.2-k3s1"}, "spec.cluster.providerSpec.image"),
        ({"imgae": "rancher/k3s"}, "spec.cluster.providerSpec.imgae"),
        ({"extraArgs": ["--agents=5"]}, "spec.cluster.providerSpec.extraArgs"),
        ({"ports": "8080:80"}, "spec.cluster.providerSpec.ports"),
    ],
)
async def test_a_bad_provider_spec_names_the_field(
    fake: FakeK3d, provider: K3dProvider, provider_spec: dict[str, object], field: str
) -> None:
    want = replace(desired(), provider_spec=provider_spec)
    with pytest.raises(ProviderPermanentError, match=re.escape(field)):
        await provider.ensure_cluster(want, CRED)
    assert fake.calls() == [], "nothing runs before the spec is valid"


async def test_a_credential_for_another_provider(fake: FakeK3d, provider: K3dProvider) -> None:
    with pytest.raises(ProviderPermanentError, match='is for provider "sim", not "k3d"'):
        await provider.observe(REF, credential("sim"))


def test_stderr_is_trimmed_and_secrets_masked() -> None:
    noisy = "INFO[0000] hello\n" * 50 + "FATA[0001] join failed: token=K10abc::server:s3cr3t\n"
    text = cli.trim(noisy)
    assert text == "FATA[0001] join failed: token=***"
    assert len(cli.trim("ERRO " + "x" * 2000)) <= cli.STDERR_LIMIT
