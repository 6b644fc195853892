"""``orbit gitops init`` scaffolds a repository that works as it is: committed and applied with
its bootstrap.yaml, its example cluster comes up, and its pre-commit hook refuses a plaintext
secret. ``orbit gitops sync`` asks for a sync through the API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from orbit.api import v1alpha1
from orbit.cli import app
from tests.gitops.conftest import Orbit, until
from tests.gitrepo.conftest import git

pytestmark = pytest.mark.slow  # a whole Orbit Plane against real git


def init(*args: str) -> str:
    result = CliRunner().invoke(app, ["gitops", "init", *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


async def test_the_scaffold_is_a_working_fleet_repository(tmp_path: Path, orbit: Orbit) -> None:
    work = tmp_path / "fleet"
    out = init(str(work), "--recipient", "age1examplexyz")
    for name in ("README.md", "bootstrap.yaml", ".age-recipients", ".githooks/pre-commit"):
        assert (work / name).is_file(), name
        assert name in out
    assert (work / ".age-recipients").read_text().splitlines()[-1] == "age1examplexyz"
    assert os.access(work / ".githooks/pre-commit", os.X_OK)
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
    assert [(i.kind, i.source) for i in inventory] == [
        ("ClusterDeployment", "orbit/default/clusters/demo.yaml:2")
    ]


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
    (work / "orbit/default/credentials").mkdir(parents=True)
    (work / "orbit/default/credentials/aws.yaml").write_text(
        "apiVersion: orbit.k8or.io/v1alpha1\nkind: Credential\n"
        "metadata: {name: aws, namespace: default}\n"
        "spec:\n  provider: sim\n  secretData:\n    key: plain-text-value\n"
    )
    git("add", "-A", cwd=work)
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
