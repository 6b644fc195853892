"""``orbit gitops init`` scaffolds a repository that works as it is: committed and applied with
its bootstrap.yaml, its example template, service template and cluster come up, a credential
added as its README says syncs, and its pre-commit hook refuses a plaintext secret.
``orbit gitops sync`` asks for a sync through the API."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from orbit.api import v1alpha1
from orbit.cli import app
from orbit.gitops import open_identity
from orbit.security.secrets import credential_secret
from tests.gitops.conftest import Orbit, until
from tests.gitrepo.conftest import git

pytestmark = pytest.mark.slow  # a whole Orbit Plane against real git

EXAMPLES = (
    "orbit/default/clusters/demo.yaml",
    "orbit/default/templates/demo-1-0-0.yaml",
    "orbit/default/services/hello-1-0-0.yaml",
    "orbit/default/credentials/README.md",
)


def init(*args: str) -> str:
    result = CliRunner().invoke(app, ["gitops", "init", *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


async def test_the_scaffold_is_a_working_fleet_repository(tmp_path: Path, orbit: Orbit) -> None:
    _, recipient = open_identity(orbit.settings().age_identity_file())
    assert recipient is not None
    work = tmp_path / "fleet"
    out = init(str(work), "--recipient", recipient)
    for name in (
        "README.md",
        "bootstrap.yaml",
        ".age-recipients",
        ".githooks/pre-commit",
        *EXAMPLES,
    ):
        assert (work / name).is_file(), name
        assert name in out
    assert (work / ".age-recipients").read_text().splitlines()[-1] == recipient
    assert os.access(work / ".githooks/pre-commit", os.X_OK)
    # The README's layout is the scaffold's: every directory it names is there, with an example.
    readme = (work / "README.md").read_text()
    for directory in ("clusters", "templates", "services", "credentials"):
        assert f"`{directory}/`" in readme, directory
        assert any((work / "orbit/default" / directory).iterdir()), directory
    assert "orbit secrets encrypt" in (work / "orbit/default/credentials/README.md").read_text()
    # Made a repository as the README says, then bootstrapped.
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "fleet", cwd=work)
    bootstrap = yaml.safe_load((work / "bootstrap.yaml").read_text())
    assert bootstrap["spec"]["url"] == work.resolve().as_uri()
    repo = v1alpha1.GitRepository.model_validate(bootstrap)
    assert repo.metadata.namespace == v1alpha1.FLEET_NAMESPACE
    await orbit.store.create(repo)
    await orbit.ready("demo")
    ready = await until(orbit.condition, "the first sync")
    assert ready.status == "True", ready.message
    inventory = (await orbit.get_repository()).status.inventory  # type: ignore[union-attr]
    assert [(i.kind, i.source.split(":")[0]) for i in inventory] == [
        ("ClusterTemplate", "orbit/default/templates/demo-1-0-0.yaml"),
        ("ServiceTemplate", "orbit/default/services/hello-1-0-0.yaml"),
        ("ClusterDeployment", "orbit/default/clusters/demo.yaml"),
    ]
    demo = (await orbit.clusters())["demo"]
    assert demo.status.template == "demo-1-0-0"
    assert demo.status.nodes.total == 2

    async def hello_deployed() -> bool:
        sets = await orbit.store.list(v1alpha1.ServiceSet, "default")
        return any(
            s.metadata.labels.get(v1alpha1.LABEL_CLUSTER) == "demo"
            and s.status is not None
            and any(x.name == "hello" and x.state == "Deployed" for x in s.status.services)
            for s in sets.items
        )

    await until(hello_deployed, "the hello service deployed into demo", timeout=60)

    # A credential added as its README says: written in plain text, encrypted, checked, synced.
    guide = (work / "orbit/default/credentials/README.md").read_text()
    example = textwrap.dedent(guide.split("e.g. `lab.yaml`:\n\n")[1].split("\n\n3.")[0])
    (work / "orbit/default/credentials/lab.yaml").write_text(example)
    secrets = CliRunner()
    encrypted = secrets.invoke(
        app, ["secrets", "encrypt", str(work / "orbit/default/credentials/lab.yaml")]
    )
    assert encrypted.exit_code == 0, encrypted.output
    assert "the-real-token" not in (work / "orbit/default/credentials/lab.yaml").read_text()
    checked = secrets.invoke(app, ["secrets", "check", str(work)])
    assert checked.exit_code == 0, checked.output
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "credential lab", cwd=work)
    ready = await orbit.synced(await orbit.request_sync())
    assert ready.status == "True", ready.message
    lab = await orbit.store.get(v1alpha1.Credential, "default", "lab")
    assert await credential_secret(orbit.store, orbit.plane.vault, lab) == {
        "token": "the-real-token"
    }  # type: ignore[union-attr]


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine\n")
    result = CliRunner().invoke(app, ["gitops", "init", str(tmp_path)])
    assert result.exit_code != 0
    assert "already holds README.md; nothing was written" in result.stderr
    assert (tmp_path / "README.md").read_text() == "mine\n"
    assert not (tmp_path / "bootstrap.yaml").exists()


def test_the_pre_commit_hook_refuses_a_plaintext_secret(tmp_path: Path) -> None:
    work = tmp_path / "fleet"
    init(str(work))
    git("init", "-q", "-b", "main", cwd=work)
    git("config", "core.hooksPath", ".githooks", cwd=work)
    (work / "orbit/default/credentials").mkdir(parents=True, exist_ok=True)
    (work / "orbit/default/credentials/aws.yaml").write_text(
        "apiVersion: orbit.k8or.io/v1alpha1\nkind: Credential\n"
        "metadata: {name: aws, namespace: default}\n"
        "spec:\n  provider: sim\n  secretData:\n    key: plain-text-value\n"
    )
    git("add", "-A", cwd=work)
    # Cleaned on disk after staging: the commit would still record the plaintext.
    (work / "orbit/default/credentials/aws.yaml").write_text("# moved to the vault\n")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",  # finds `orbit`
        "GIT_AUTHOR_NAME": "Team",
        "GIT_AUTHOR_EMAIL": "team@example.com",
        "GIT_COMMITTER_NAME": "Team",
        "GIT_COMMITTER_EMAIL": "team@example.com",
    }
    done = subprocess.run(
        ["git", "commit", "-q", "-m", "oops"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "orbit/default/credentials/aws.yaml:7" in done.stdout + done.stderr


def test_the_gitops_example_is_valid() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "gitops" / "fleet.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    objects = [v1alpha1.kind_for(d["kind"]).model_validate(d) for d in docs]
    assert [o.KIND for o in objects] == ["Credential", "Credential", "GitRepository"]
    repo = objects[-1]
    assert isinstance(repo, v1alpha1.GitRepository)
    assert repo.spec.credential_ref == objects[0].metadata.name
