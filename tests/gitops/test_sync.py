"""A git repository as the source of truth: commits create, change and delete clusters, the
current state comes back as commits, and a tree with a mistake changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from orbit.api import v1alpha1
from tests.gitops.conftest import Fleet, Orbit, cluster_yaml, until

pytestmark = pytest.mark.slow  # a whole Orbit Plane against real git


async def test_a_commit_makes_a_ready_cluster_and_its_state_is_committed_back(
    fleet: Fleet, orbit: Orbit
) -> None:

    fleet.commit({"clusters/demo.yaml": cluster_yaml("demo")}, "add demo")
    await orbit.repository(fleet.url, interval="2s")
    await orbit.ready("demo")

    # A commit holds the cluster's current state (the cluster's change wakes the write-back;
    # the bound is generous so a loaded machine does not fail it).
    async def written_ready() -> dict[str, Any] | None:
        doc = fleet.status("ClusterDeployment", "demo")
        return doc if doc and doc.get("status", {}).get("phase") == "Ready" else None

    doc = await until(written_ready, "the Ready state written back", timeout=30)
    cluster = (await orbit.clusters())["demo"]
    assert doc["metadata"]["uid"] == cluster.metadata.uid
    assert doc["source"] == "clusters/demo.yaml:1"
    assert doc["writtenBy"] == "orbit-system/fleet"
    assert doc["status"]["nodes"]["ready"] == 2
    assert {n["role"] for n in doc["status"]["nodes"]["items"]} == {"control-plane", "worker"}
    assert any("ClusterDeployment default/demo: Ready" in s for s in fleet.subjects())
    assert cluster.metadata.labels[v1alpha1.LABEL_REPOSITORY] == "fleet"
    assert fleet.show("clusters/demo.yaml") == cluster_yaml("demo")  # the user's file untouched

    # Scaling is a commit too.
    fleet.commit({"clusters/demo.yaml": cluster_yaml("demo", workers=2)}, "scale demo")

    async def three_nodes() -> bool:
        doc = fleet.status("ClusterDeployment", "demo")
        return (
            bool(doc)
            and doc["status"]["nodes"].get("total") == 3
            and (doc["status"]["phase"] == "Ready")
        )

    await until(three_nodes, "the scaled state written back", timeout=30)

    # Removing the file deletes the cluster, and its state file goes with it.
    fleet.commit({"clusters/demo.yaml": None}, "remove demo")

    async def gone() -> bool:
        return "demo" not in await orbit.clusters()

    await until(gone, "the cluster deleted", timeout=30)
    assert await orbit.plane.sim.list_clusters() == []  # type: ignore[union-attr]

    async def state_file_gone() -> bool:
        return fleet.status("ClusterDeployment", "demo") is None

    await until(state_file_gone, "the state file removed", timeout=30)
    assert any("ClusterDeployment default/demo is gone" in s for s in fleet.subjects())


async def test_a_malformed_file_names_file_and_line_and_changes_nothing(
    fleet: Fleet, orbit: Orbit
) -> None:
    fleet.commit({"clusters/a.yaml": cluster_yaml("a")})
    await orbit.repository(fleet.url)
    await orbit.ready("a")
    before = await orbit.store.revision()

    # A YAML syntax error in one file, a bad field in another, and a new cluster beside them.
    broken = "apiVersion: orbit.k8or.io/v1alpha1\nkind: ClusterDeployment\nmetadata: [oops\n"
    bad_field = cluster_yaml("c").replace(
        "  credential: sim\n", "  credential: sim\n  color: red\n"
    )
    fleet.commit(
        {
            "clusters/a.yaml": cluster_yaml("a", workers=3),
            "clusters/b.yaml": broken,
            "clusters/c.yaml": bad_field,
            "clusters/d.yaml": cluster_yaml("d"),
        },
        "several changes, two broken",
    )
    ready = await orbit.synced(await orbit.request_sync())
    assert ready.status == "False"
    assert ready.reason == "ParseFailed"
    assert "clusters/b.yaml:3: does not parse" in ready.message
    assert "clusters/c.yaml:9: spec.color: unknown field" in ready.message
    assert "nothing was applied" in ready.message
    clusters = await orbit.clusters()
    assert set(clusters) == {"a"}
    assert clusters["a"].spec.config == {"workers": 1}
    # Nothing but the GitRepository's own status moved in the store.
    changed = [
        e.object.key
        async for e in _changes_since(orbit, before)
        if e.object.KIND != "GitRepository"
    ]
    assert not [k for k in changed if k[0] != "Event"], changed

    # Fixing the files applies the whole commit.
    fleet.commit(
        {"clusters/b.yaml": cluster_yaml("b"), "clusters/c.yaml": cluster_yaml("c")}, "fix"
    )
    ready = await orbit.synced(await orbit.request_sync())
    assert ready.status == "True", ready.message
    await orbit.ready("a", "b", "c", "d")
    assert (await orbit.clusters())["a"].spec.config == {"workers": 3}


async def _changes_since(orbit: Orbit, revision: int) -> Any:
    """The change feed from ``revision`` to now (a bounded read, then stop)."""
    end = await orbit.store.revision()
    async for event in orbit.store.watch(since=revision):
        yield event
        if event.revision >= end:
            return


async def test_objects_of_another_namespace_need_the_fleet_namespace(
    fleet: Fleet, orbit: Orbit
) -> None:
    await orbit.store.create(v1alpha1.Namespace(metadata=v1alpha1.ObjectMeta(name="team-a")))
    fleet.commit({"clusters/x.yaml": cluster_yaml("x", namespace="default")})
    await orbit.repository(fleet.url, namespace="team-a", name="team")
    ready = await until(
        lambda: orbit.condition(name="team", namespace="team-a"), "a Ready condition"
    )
    assert ready.reason == "ParseFailed"
    assert "clusters/x.yaml:5: " in ready.message
    assert 'namespace "default" is not this repository\'s ("team-a")' in ready.message
    assert "x" not in await orbit.clusters()


async def test_an_object_another_repository_owns_is_not_taken_over(
    fleet: Fleet, orbit: Orbit
) -> None:
    fleet.commit({"clusters/shared.yaml": cluster_yaml("shared")})
    await orbit.repository(fleet.url, name="first")
    await orbit.ready("shared")
    await orbit.repository(fleet.url, name="second")
    ready = await until(lambda: orbit.condition(name="second"), "second's condition")
    assert ready.reason == "ApplyFailed"
    assert "ClusterDeployment default/shared is managed by GitRepository orbit-system/first" in (
        ready.message
    )
    shared = (await orbit.clusters())["shared"]
    assert shared.metadata.labels[v1alpha1.LABEL_REPOSITORY] == "first"

    # Its state file is first's: second, which does not own it, never writes it.
    async def first_wrote() -> bool:
        doc = fleet.status("ClusterDeployment", "shared")
        return bool(doc) and doc["status"].get("phase") == "Ready"

    await until(first_wrote, "first's write-back", timeout=30)
    await orbit.synced(await orbit.request_sync(name="second"), name="second")
    assert fleet.status("ClusterDeployment", "shared")["writtenBy"] == "orbit-system/first"  # type: ignore[index]


async def test_an_existing_unowned_object_is_adopted_and_then_pruned_with_its_file(
    fleet: Fleet, orbit: Orbit
) -> None:
    # "old" was made through the API; the repository then declares it.
    await orbit.store.create(
        v1alpha1.ClusterDeployment.model_validate(yaml.safe_load(cluster_yaml("old")))
    )
    await orbit.ready("old")
    uid = (await orbit.clusters())["old"].metadata.uid
    fleet.commit({"clusters/old.yaml": cluster_yaml("old")})
    await orbit.repository(fleet.url)
    ready = await until(lambda: orbit.condition(), "a Ready condition")
    assert ready.status == "True", ready.message
    assert "adopted 1" in ready.message
    old = (await orbit.clusters())["old"]
    assert old.metadata.uid == uid  # the same cluster, now owned
    assert old.metadata.labels[v1alpha1.LABEL_REPOSITORY] == "fleet"
    fleet.commit({"clusters/old.yaml": None})
    await orbit.synced(await orbit.request_sync())

    async def gone() -> bool:
        return "old" not in await orbit.clusters()

    await until(gone, "the adopted cluster pruned", timeout=30)


async def test_pruning_deletes_only_what_the_repository_owns(fleet: Fleet, orbit: Orbit) -> None:
    fleet.commit(
        {"clusters/kept.yaml": cluster_yaml("kept"), "clusters/gone.yaml": cluster_yaml("gone")}
    )
    await orbit.repository(fleet.url)
    # Made through the API, never in git: no owner labels ...
    await orbit.store.create(
        v1alpha1.ClusterDeployment.model_validate(yaml.safe_load(cluster_yaml("manual")))
    )
    # ... and one labelled as owned by another GitRepository (which does not exist).
    other = v1alpha1.ClusterDeployment.model_validate(yaml.safe_load(cluster_yaml("theirs")))
    other.metadata.labels.update(
        {v1alpha1.LABEL_REPOSITORY: "other", v1alpha1.LABEL_REPOSITORY_NAMESPACE: "orbit-system"}
    )
    await orbit.store.create(other)
    await orbit.ready("kept", "gone", "manual", "theirs")
    assert (await orbit.clusters())["gone"].metadata.labels[v1alpha1.LABEL_REPOSITORY] == "fleet"

    fleet.commit({"clusters/gone.yaml": None}, "remove gone")
    ready = await orbit.synced(await orbit.request_sync())
    assert ready.status == "True", ready.message
    assert "1 pruned" in ready.message

    async def pruned() -> bool:
        return "gone" not in await orbit.clusters()

    await until(pruned, "the owned cluster pruned", timeout=30)
    clusters = await orbit.clusters()
    assert set(clusters) == {"kept", "manual", "theirs"}
    # Neither survivor was adopted either: they are not in the tree.
    assert v1alpha1.LABEL_REPOSITORY not in clusters["manual"].metadata.labels
    assert clusters["theirs"].metadata.labels[v1alpha1.LABEL_REPOSITORY] == "other"
    assert clusters["manual"].metadata.deletion_timestamp is None
    assert clusters["theirs"].metadata.deletion_timestamp is None
    # The catalog's templates and credential, never in git, are all still there.
    templates = await orbit.store.list(v1alpha1.ClusterTemplate, "default")
    assert {t.metadata.name for t in templates.items} >= {"sim-single-1-0-0", "sim-ha-1-0-0"}
    assert await orbit.store.get(v1alpha1.Credential, "default", "sim")
    sim = await orbit.plane.sim.list_clusters()  # type: ignore[union-attr]
    assert len(sim) == 3


async def test_a_commit_admission_refuses_in_part_changes_nothing(
    fleet: Fleet, orbit: Orbit
) -> None:
    fleet.commit({"clusters/a.yaml": cluster_yaml("a")})
    await orbit.repository(fleet.url)
    await orbit.ready("a")
    # Every file parses and has a valid shape, but admission refuses a's new config (the
    # template allows at most 20 workers), and b's template does not exist.
    fleet.commit(
        {
            "clusters/a.yaml": cluster_yaml("a", workers=99),
            "clusters/b.yaml": cluster_yaml("b").replace("sim-single-1-0-0", "nope-1-0-0"),
            "clusters/c.yaml": cluster_yaml("c"),
        },
        "one good change, two refused",
    )
    ready = await orbit.synced(await orbit.request_sync())
    assert (ready.status, ready.reason) == ("False", "ApplyFailed"), ready.message
    assert "clusters/a.yaml:10: spec.config.workers: " in ready.message
    assert "clusters/b.yaml:7: spec.template: " in ready.message
    assert ready.message.endswith("nothing was applied")
    clusters = await orbit.clusters()
    assert set(clusters) == {"a"}  # c, valid on its own, was not created either
    assert clusters["a"].spec.config == {"workers": 1}

    # A template and a cluster using it in one commit: checked together, applied together.
    template = (
        "apiVersion: orbit.k8or.io/v1alpha1\n"
        "kind: ClusterTemplate\n"
        "metadata: {name: tiny-1-0-0, namespace: default}\n"
        "spec:\n"
        "  provider: sim\n"
        "  version: 1.0.0\n"
        "  kubernetesVersion: v1.30.6+k3s1\n"
        "  parameters:\n"
        "    {type: object, properties: {workers: {type: integer, maximum: 2, default: 1}}}\n"
        "  cluster: {controlPlane: {count: 1}, workers: {count: '{{ workers }}'}}\n"
    )
    fleet.commit(
        {
            "clusters/a.yaml": cluster_yaml("a", workers=2),
            "clusters/b.yaml": cluster_yaml("b").replace("sim-single-1-0-0", "tiny-1-0-0"),
            "templates/tiny.yaml": template,
        },
        "fix",
    )
    ready = await orbit.synced(await orbit.request_sync())
    assert ready.status == "True", ready.message
    await orbit.ready("a", "b", "c")
    assert (await orbit.clusters())["b"].spec.template == "tiny-1-0-0"
