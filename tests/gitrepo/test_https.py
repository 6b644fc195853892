"""Git over real HTTPS (:mod:`tests.githttp`: ``git http-backend`` behind a local TLS server
that wants a token): clone and push with the token, and the refusals of a wrong token, an
untrusted certificate and a missing repository.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from orbit.gitrepo import HttpsAuth, PermanentGitError, WorkingCopy
from tests.githttp import TOKEN, USERNAME, GitServer, git_server

from .conftest import SEED, git, make_bare, write_back

__all__ = ["git_server"]  # the fixture, imported for this module


async def test_clone_and_push_with_a_token(git_server: GitServer, tmp_path: Path) -> None:
    repo = make_bare(git_server.root / "fleet.git", SEED)
    auth = HttpsAuth(username=USERNAME, password_or_token=TOKEN, ca_certificate=git_server.ca)
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    assert (
        await wc.sync(git_server.url("fleet.git"), branch="main", auth=auth)
        == git("rev-parse", "main", cwd=repo).strip()
    )
    pushed = await write_back(wc, {".orbit/status/demo.yaml": b"phase: Ready\n"}, auth=auth)

    assert pushed == git("rev-parse", "main", cwd=repo).strip()
    assert git_server.authorizations
    assert set(git_server.authorizations) == {
        "Basic " + base64.b64encode(f"{USERNAME}:{TOKEN}".encode()).decode()
    }  # sent from the first request on, never a prompt
    config = (wc.path / ".git" / "config").read_text()
    assert TOKEN not in config
    assert "extraheader" not in config.lower()


async def test_a_wrong_token_is_refused(git_server: GitServer, tmp_path: Path) -> None:
    make_bare(git_server.root / "fleet.git", SEED)
    wrong = "glpat-WrongToken000"
    auth = HttpsAuth(username=USERNAME, password_or_token=wrong, ca_certificate=git_server.ca)
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    refused = r"127\.0\.0\.1:\d+ refused the credentials"
    with pytest.raises(PermanentGitError, match=refused) as caught:
        await wc.sync(git_server.url("fleet.git"), branch="main", auth=auth)
    assert wrong not in str(caught.value)


async def test_an_untrusted_certificate_is_refused(git_server: GitServer, tmp_path: Path) -> None:
    make_bare(git_server.root / "fleet.git", SEED)
    auth = HttpsAuth(username=USERNAME, password_or_token=TOKEN)  # no CA: the system's
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    untrusted = r"TLS certificate of 127\.0\.0\.1:\d+ is not trusted"
    with pytest.raises(PermanentGitError, match=untrusted):
        await wc.sync(git_server.url("fleet.git"), branch="main", auth=auth)
    assert not git_server.authorizations  # nothing was sent to a server we could not verify


async def test_a_missing_repository_over_https(git_server: GitServer, tmp_path: Path) -> None:
    auth = HttpsAuth(username=USERNAME, password_or_token=TOKEN, ca_certificate=git_server.ca)
    wc = WorkingCopy(tmp_path / "gitops" / "uid-https", timeout=60)

    with pytest.raises(PermanentGitError, match="no repository at https://"):
        await wc.sync(git_server.url("absent.git"), branch="main", auth=auth)
