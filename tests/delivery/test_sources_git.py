"""Git sources against real repositories made in tmp_path and fetched with the real ``git``
over file:// URLs: plain YAML files, kustomizations, branch/tag/commit refs, the fetch cache
and its expiry, and failures that say what git said (without credentials)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orbit.api import v1alpha1
from orbit.delivery import render, sources
from orbit.delivery.render import ClusterContext, RenderError, SourceUnavailable

CLUSTER = ClusterContext(name="edge-7", namespace="team-a", labels={}, config={})

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  cluster: "{{{{ cluster.name }}}}"
  color: "{{{{ values.color }}}}"
"""


class Repo:
    """A git repository on disk, committed to with the real git."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "test@example.com")
        self.git("config", "user.name", "Test")

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.commit(
        {
            "apps/b.yaml": CONFIGMAP.format(name="b"),
            "apps/a.yml": CONFIGMAP.format(name="a"),
            "apps/nested/c.yaml": CONFIGMAP.format(name="c"),
            "apps/README.md": "not a manifest",
            "apps/.hidden/x.yaml": "not: [valid",
            "other/d.yaml": CONFIGMAP.format(name="d"),
        },
        "first",
    )
    return repo


def git_template(url: str, *, ref: str = "main", path: str = "apps") -> v1alpha1.ServiceTemplate:
    return v1alpha1.ServiceTemplate(
        metadata=v1alpha1.ObjectMeta(name="apps-1", namespace="team-a"),
        spec=v1alpha1.ServiceTemplateSpec(
            version="1",
            parameters={
                "type": "object",
                "properties": {"color": {"type": "string", "default": "blue"}},
            },
            git=v1alpha1.GitSource(url=url, ref=ref, path=path),
        ),
    )


async def rendered(tpl: v1alpha1.ServiceTemplate, cache: Path, **kw: Any) -> list[dict[str, Any]]:
    return await render.render_service(
        tpl, values=kw.pop("values", {}), cluster=CLUSTER, namespace="apps", cache_dir=cache, **kw
    )


async def test_plain_files_are_rendered_in_order(repo: Repo, tmp_path: Path) -> None:
    docs = await rendered(git_template(repo.url), tmp_path / "cache", values={"color": "red"})
    assert [d["metadata"]["name"] for d in docs] == ["a", "b", "c"]
    assert docs[0]["data"] == {"cluster": "edge-7", "color": "red"}
    assert {d["metadata"]["namespace"] for d in docs} == {"apps"}


async def test_a_single_file_path(repo: Repo, tmp_path: Path) -> None:
    docs = await rendered(git_template(repo.url, path="other/d.yaml"), tmp_path / "cache")
    assert [d["metadata"]["name"] for d in docs] == ["d"]


async def test_render_error_names_the_file_and_line(repo: Repo, tmp_path: Path) -> None:
    repo.commit({"apps/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ nme }}\n"})
    with pytest.raises(RenderError) as caught:
        await rendered(git_template(repo.url), tmp_path / "cache")
    assert caught.value.source == "apps/b.yaml"
    assert caught.value.line == 4
    assert str(caught.value) == "apps/b.yaml: line 4: 'nme' is undefined"


async def test_kustomization_is_built_with_kustomize(repo: Repo, tmp_path: Path) -> None:
    repo.commit(
        {
            "kust/kustomization.yaml": (
                "resources:\n- deploy.yaml\n"
                "configMapGenerator:\n- name: app-config\n  literals:\n  - color=green\n"
            ),
            "kust/deploy.yaml": (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                "spec:\n  replicas: 1\n"
            ),
        }
    )
    docs = await rendered(git_template(repo.url, path="kust"), tmp_path / "cache")
    by_kind = {d["kind"]: d for d in docs}
    assert set(by_kind) == {"ConfigMap", "Deployment"}
    assert by_kind["ConfigMap"]["metadata"]["name"].startswith("app-config-")
    assert by_kind["ConfigMap"]["data"] == {"color": "green"}
    assert by_kind["Deployment"]["metadata"]["namespace"] == "apps"


async def test_broken_kustomization_is_a_render_error(repo: Repo, tmp_path: Path) -> None:
    repo.commit({"kust/kustomization.yaml": "resources:\n- missing.yaml\n"})
    with pytest.raises(RenderError) as caught:
        await rendered(git_template(repo.url, path="kust"), tmp_path / "cache")
    assert caught.value.source == "kust"
    assert "kustomize failed" in caught.value.message
    assert "missing.yaml" in caught.value.message


async def test_branch_tag_and_commit_refs(repo: Repo, tmp_path: Path) -> None:
    first = repo.git("rev-parse", "HEAD")
    repo.git("tag", "-a", "v1", "-m", "release 1")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"apps/e.yaml": CONFIGMAP.format(name="e")})
    repo.git("checkout", "-q", "main")
    cache = tmp_path / "cache"

    async def names(ref: str) -> list[str]:
        docs = await rendered(git_template(repo.url, ref=ref), cache)
        return [d["metadata"]["name"] for d in docs]

    assert await names("feature") == ["a", "b", "e", "c"]  # sorted by path: e.yaml, nested/
    assert await names("v1") == ["a", "b", "c"]
    assert await names(first) == ["a", "b", "c"]


async def test_refetch_only_once_max_age_passed(repo: Repo, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = await sources.fetch_git(repo.url, "main", cache_dir=cache)
    second_commit = repo.commit({"apps/f.yaml": CONFIGMAP.format(name="f")})

    cached = await sources.fetch_git(repo.url, "main", cache_dir=cache, max_age=3600)
    assert cached == first
    assert not (cached.path / "apps" / "f.yaml").exists()

    fresh = await sources.fetch_git(repo.url, "main", cache_dir=cache, max_age=0)
    assert fresh.commit == second_commit
    assert (fresh.path / "apps" / "f.yaml").exists()
    assert (first.path / "apps").exists()  # a render still reading the old tree is not broken
    assert not (fresh.path / ".git").exists()


async def test_refetch_of_an_unchanged_ref_keeps_the_checkout(repo: Repo, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = await sources.fetch_git(repo.url, "main", cache_dir=cache)
    again = await sources.fetch_git(repo.url, "main", cache_dir=cache, max_age=0)
    assert again == first


async def test_concurrent_fetches_of_one_key_share_a_checkout(repo: Repo, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    results = await asyncio.gather(
        *(sources.fetch_git(repo.url, "main", cache_dir=cache) for _ in range(5))
    )
    assert len(set(results)) == 1
    checkouts = [p for p in (cache / "git").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(checkouts) == 1


async def test_unknown_ref_is_source_unavailable(repo: Repo, tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        await rendered(git_template(repo.url, ref="no-such-branch"), tmp_path / "cache")
    message = str(caught.value)
    assert "no-such-branch" in message
    assert "couldn't find remote ref" in message


async def test_unreachable_remote_is_source_unavailable(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere").as_uri()
    with pytest.raises(SourceUnavailable, match="git could not fetch"):
        await rendered(git_template(url), tmp_path / "cache")


async def test_credentials_never_appear_in_messages(tmp_path: Path) -> None:
    url = "https://robot:s3cret-token@127.0.0.1:9/org/repo.git"
    with pytest.raises(SourceUnavailable) as caught:
        await rendered(git_template(url), tmp_path / "cache")
    assert "s3cret-token" not in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)


async def test_missing_path_in_the_repository(repo: Repo, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="'nope' does not exist"):
        await rendered(git_template(repo.url, path="nope"), tmp_path / "cache")


@pytest.mark.parametrize("path", ["../outside", "/etc"])
async def test_paths_stay_inside_the_repository(repo: Repo, tmp_path: Path, path: str) -> None:
    with pytest.raises(RenderError, match="inside it"):
        await rendered(git_template(repo.url, path=path), tmp_path / "cache")


async def test_symlinks_out_of_the_repository_are_refused(repo: Repo, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n")
    (repo.path / "apps" / "z.yaml").symlink_to(secret)
    repo.commit({})
    with pytest.raises(RenderError, match="outside the repository"):
        await rendered(git_template(repo.url), tmp_path / "cache")


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/pwned", "-uhoh", "fd::17"])
async def test_command_running_transports_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(RenderError, match="unsupported git URL"):
        await sources.fetch_git(url, "main", cache_dir=tmp_path)


def test_url_checks() -> None:
    for url in ("https://h/r.git", "ssh://git@h/r", "file:///srv/r", "git@github.com:org/r.git"):
        assert sources.check_git_url(url) is None
    assert sources.redact("fatal: https://u:p@host/x") == "fatal: https://***@host/x"


async def test_replaced_checkouts_are_removed_after_their_grace_period(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"

    def checkouts() -> list[Path]:
        return [p for p in (cache / "git").iterdir() if p.is_dir() and not p.is_symlink()]

    await sources.fetch_git(repo.url, "main", cache_dir=cache)
    repo.commit({"apps/g.yaml": CONFIGMAP.format(name="g")})
    await sources.fetch_git(repo.url, "main", cache_dir=cache, max_age=0)
    assert len(checkouts()) == 2  # the replaced tree stays for renders still reading it

    monkeypatch.setattr(sources, "_STALE_CHECKOUT", -1.0)  # every grace period is over
    repo.commit({"apps/h.yaml": CONFIGMAP.format(name="h")})
    latest = await sources.fetch_git(repo.url, "main", cache_dir=cache, max_age=0)
    assert checkouts() == [latest.path]
