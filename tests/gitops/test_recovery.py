"""As long as the repository exists the platform can be rebuilt or duplicated: a new, empty
Orbit Plane rebuilds the templates and credentials (secret values included) and adopts the
clusters that still exist (creating none twice), and a cluster's file copied under a new name
is a new, identical cluster. Orbit's write-back survives a concurrent push without rewriting
anyone's commit, and never overwrites a file it did not write."""

from __future__ import annotations

import pytest

from orbit import errors
from orbit.api import v1alpha1
from orbit.security.secrets import credential_secret
from tests.gitops.conftest import Fleet, Orbit, cluster_yaml, credential_yaml, encrypted_for, until

pytestmark = pytest.mark.slow  # a whole Orbit Plane against real git

NAMES = ("alpha", "beta", "gamma")


async def test_a_new_orbit_on_the_same_repository_adopts_every_cluster(
    fleet: Fleet, orbit: Orbit
) -> None:

    fleet.commit({f"clusters/{n}.yaml": cluster_yaml(n) for n in NAMES}, "three clusters")
    await orbit.repository(fleet.url)
    await orbit.ready(*NAMES)
    uids = {n: c.metadata.uid for n, c in (await orbit.clusters()).items()}

    async def all_written() -> bool:
        docs = [fleet.status("ClusterDeployment", n) for n in NAMES]
        return all(d and d["status"].get("phase") == "Ready" for d in docs)

    await until(all_written, "every cluster's state written back", timeout=20)
    before = await orbit.sim_uids()
    assert before == sorted(uids.values())

    await orbit.lose_the_database()
    await orbit.repository(fleet.url)  # pointed at the same repository
    await orbit.ready(*NAMES)
    rebuilt = await orbit.clusters()
    assert {n: c.metadata.uid for n, c in rebuilt.items()} == uids  # adopted, same identity
    assert await orbit.sim_uids() == before  # none created twice, none lost
    ready = await until(orbit.condition, "the sync's condition")
    assert "adopted 3" in ready.message, ready
    # The templates and credential came back too (from the default catalog here), and the
    # clusters are owned again.
    assert all(c.metadata.labels[v1alpha1.LABEL_REPOSITORY] == "fleet" for c in rebuilt.values())


LAB_TEMPLATE = """\
apiVersion: orbit.k8or.io/v1alpha1
kind: ClusterTemplate
metadata:
  name: lab-1-0-0
  namespace: default
spec:
  provider: sim
  version: 1.0.0
  kubernetesVersion: v1.30.6+k3s1
  parameters:
    type: object
    properties:
      workers: {type: integer, minimum: 0, maximum: 3, default: 1}
  cluster:
    controlPlane: {count: 1}
    workers: {count: "{{ workers }}"}
"""
LAB_TOKEN = "lab-token-7d1e-secret"


def lab_cluster(name: str) -> str:
    return (
        cluster_yaml(name)
        .replace("template: sim-single-1-0-0", "template: lab-1-0-0")
        .replace("credential: sim", "credential: lab")
    )


async def test_a_new_orbit_rebuilds_templates_credentials_and_clusters_from_git(
    fleet: Fleet, orbit: Orbit
) -> None:
    # Nothing here comes from the default catalog: the repository holds the template and the
    # credential (its value encrypted for the Orbit Plane) the clusters use.
    fleet.commit(
        {
            "templates/lab.yaml": LAB_TEMPLATE,
            "credentials/lab.yaml": encrypted_for(orbit, credential_yaml("lab", LAB_TOKEN)),
            **{f"clusters/{n}.yaml": lab_cluster(n) for n in ("one", "two")},
        },
        "a template, a credential and two clusters",
    )
    await orbit.repository(fleet.url)
    await orbit.ready("one", "two")
    template = await orbit.store.get(v1alpha1.ClusterTemplate, "default", "lab-1-0-0")
    credential = await orbit.store.get(v1alpha1.Credential, "default", "lab")
    uids = {n: c.metadata.uid for n, c in (await orbit.clusters()).items()}

    async def all_written() -> bool:
        clusters = [fleet.status("ClusterDeployment", n) for n in ("one", "two")]
        others = [fleet.status("ClusterTemplate", "lab-1-0-0"), fleet.status("Credential", "lab")]
        return all(d and d["status"].get("phase") == "Ready" for d in clusters) and all(others)

    await until(all_written, "every object's state written back", timeout=30)
    before = await orbit.sim_uids()
    assert before == sorted(uids.values())

    await orbit.lose_the_database()
    for cls, name in ((v1alpha1.ClusterTemplate, "lab-1-0-0"), (v1alpha1.Credential, "lab")):
        with pytest.raises(errors.NotFound):
            await orbit.store.get(cls, "default", name)
    await orbit.repository(fleet.url)
    await orbit.ready("one", "two")

    rebuilt = await orbit.store.get(v1alpha1.ClusterTemplate, "default", "lab-1-0-0")
    assert rebuilt.metadata.uid == template.metadata.uid
    assert rebuilt.spec == template.spec
    assert rebuilt.metadata.labels[v1alpha1.LABEL_REPOSITORY] == "fleet"
    cred = await orbit.store.get(v1alpha1.Credential, "default", "lab")
    assert cred.metadata.uid == credential.metadata.uid
    assert cred.spec.config == {"region": "lab"}
    assert await credential_secret(orbit.store, orbit.plane.vault, cred) == {"token": LAB_TOKEN}  # type: ignore[union-attr]
    clusters = await orbit.clusters()
    assert {n: c.metadata.uid for n, c in clusters.items()} == uids  # adopted, same identity
    assert {c.spec.template for c in clusters.values()} == {"lab-1-0-0"}
    assert await orbit.sim_uids() == before  # none created twice, none lost
    ready = await until(orbit.condition, "the sync's condition")
    assert ready.status == "True", ready.message
    assert "adopted 4" in ready.message, ready.message
    assert LAB_TOKEN not in fleet.history()


async def test_copying_a_cluster_file_under_a_new_name_makes_an_identical_cluster(
    fleet: Fleet, orbit: Orbit
) -> None:
    fleet.commit({"clusters/prod.yaml": cluster_yaml("prod", workers=2)})
    await orbit.repository(fleet.url)
    await orbit.ready("prod")

    async def written() -> bool:
        return fleet.status("ClusterDeployment", "prod") is not None

    await until(written, "prod's state written back", timeout=20)
    # A copy of the file (and, by mistake, of its state file) under a new name.
    text = fleet.show("clusters/prod.yaml") or ""
    state = fleet.show(".orbit/status/default/clusterdeployment/prod.yaml") or ""
    fleet.commit(
        {
            "clusters/staging.yaml": text.replace("name: prod", "name: staging"),
            ".orbit/status/default/clusterdeployment/staging.yaml": state.replace(
                "name: prod", "name: staging"
            ),
        },
        "duplicate prod as staging",
    )
    await orbit.synced(await orbit.request_sync())
    await orbit.ready("staging")
    clusters = await orbit.clusters()
    assert clusters["staging"].spec == clusters["prod"].spec
    # The copied state file named prod's uid, which is taken here: staging is a new cluster.
    assert clusters["staging"].metadata.uid != clusters["prod"].metadata.uid
    sim = await orbit.plane.sim.list_clusters()  # type: ignore[union-attr]
    assert len(sim) == 2
    assert clusters["staging"].status.nodes.total == clusters["prod"].status.nodes.total == 3


async def test_a_concurrent_push_during_write_back_keeps_both_commits(
    fleet: Fleet, orbit: Orbit
) -> None:
    fleet.commit({"clusters/c1.yaml": cluster_yaml("c1")})
    await orbit.repository(fleet.url)  # interval 1h: Orbit does not fetch again by itself
    await orbit.ready("c1")

    async def written() -> bool:
        doc = fleet.status("ClusterDeployment", "c1")
        return bool(doc) and doc["status"]["phase"] == "Ready"

    await until(written, "c1's state written back", timeout=20)
    # Someone pushes while Orbit's working copy is behind; then c1's state changes.
    theirs = fleet.commit({"docs/notes.md": "# notes\n"}, "a teammate's notes")
    repo = await orbit.get_repository()
    assert repo.status is not None and repo.status.last_synced_commit != theirs
    c1 = (await orbit.clusters())["c1"]
    c1.metadata.labels["tier"] = "gold"  # a label outside git: status unchanged, ...
    c1.spec.config = {"workers": 2}  # ... and a scale made through the API (drift from git)
    await orbit.store.update(c1)

    async def scaled_written() -> bool:
        doc = fleet.status("ClusterDeployment", "c1")
        return bool(doc) and doc["status"]["nodes"].get("total") == 3

    await until(scaled_written, "the new state written back", timeout=30)
    subjects = fleet.subjects()
    assert "a teammate's notes" in subjects  # their commit survived ...
    assert fleet.show("docs/notes.md") == "# notes\n"  # ... with their file
    assert subjects[0].startswith("orbit:")  # and Orbit's commit sits on top of it
    assert fleet.show("clusters/c1.yaml") == cluster_yaml("c1")  # never rewrites a user's file


async def test_a_file_orbit_did_not_write_is_never_overwritten(fleet: Fleet, orbit: Orbit) -> None:
    # Someone keeps their own file where Orbit would record demo's state.
    path = ".orbit/status/default/clusterdeployment/demo.yaml"
    mine = "# Our notes on demo, not Orbit's.\nowner: team-a\npager: '+1 555 0100'\n"
    fleet.commit(
        {
            "clusters/demo.yaml": cluster_yaml("demo"),
            "clusters/other.yaml": cluster_yaml("other"),
            path: mine,
        }
    )
    await orbit.repository(fleet.url)
    await orbit.ready("demo", "other")

    async def kept() -> v1alpha1.Condition | None:
        found = await orbit.condition("WrittenBack")
        return found if found is not None and found.reason == "FileKept" else None

    written = await until(kept, "the write-back naming the file it left alone", timeout=30)
    assert written.status == "False"
    assert f"{path} was not written by Orbit" in written.message

    async def other_written() -> bool:
        doc = fleet.status("ClusterDeployment", "other")
        return bool(doc) and doc["status"]["phase"] == "Ready"

    await until(other_written, "the other cluster's state written back", timeout=30)
    assert fleet.show(path) == mine  # left exactly as it was, through every write-back
    assert not any("default/demo" in s for s in fleet.subjects() if s.startswith("orbit:"))

    # Moved away, the path is free: Orbit records demo's state there.
    fleet.commit({path: None, "notes/demo.md": mine}, "move our notes")
    await orbit.synced(await orbit.request_sync())

    async def demo_written() -> bool:
        doc = fleet.status("ClusterDeployment", "demo")
        return bool(doc) and doc.get("writtenBy") == "orbit-system/fleet"

    await until(demo_written, "demo's state written back", timeout=30)
    written = await until(lambda: orbit.condition("WrittenBack"), "the write-back condition")
    assert (written.status, written.reason) == ("True", "Pushed"), written.message
    assert fleet.show("notes/demo.md") == mine
