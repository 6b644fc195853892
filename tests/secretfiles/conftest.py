"""Fixtures for the secret-file tests: real age keys (pyrage), real files, the real ``orbit`` CLI.

- ``key``: a fresh X25519 identity; ``key_file`` is it written as an identity file (as
  ``orbit secrets keygen`` does), ``identities``/``recipients`` are it parsed.
- ``repo``: a git working tree (a ``.git`` directory) whose root holds ``.age-recipients``.
- ``orbit``: runs ``orbit ARGS`` through Typer's CliRunner with ``ORBIT_AGE_IDENTITY`` pointing
  at ``key_file`` and ``HOME`` in ``tmp_path``, so no test reads or writes the real home.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orbit import secretfiles
from orbit.cli import app

Orbit = Callable[..., Result]


@pytest.fixture
def key() -> secretfiles.GeneratedIdentity:
    return secretfiles.generate_identity()


@pytest.fixture
def key_file(tmp_path: Path, key: secretfiles.GeneratedIdentity) -> Path:
    path = tmp_path / "keys" / "age.key"
    secretfiles.write_identity(path, key)
    return path


@pytest.fixture
def identities(key_file: Path) -> list[secretfiles.Identity]:
    return secretfiles.load_identities(key_file)


@pytest.fixture
def recipients(key: secretfiles.GeneratedIdentity) -> list[secretfiles.Recipient]:
    return [secretfiles.parse_recipient(key.recipient)]


@pytest.fixture
def repo(tmp_path: Path, key: secretfiles.GeneratedIdentity) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".age-recipients").write_text(f"# the team\n{key.recipient}\n")
    return root


@pytest.fixture
def orbit(tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch) -> Orbit:
    home = tmp_path / "home"
    home.mkdir()

    def run(args: str, *, cwd: Path | None = None, **env: str) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        environment = {"HOME": str(home), "ORBIT_AGE_IDENTITY": str(key_file), **env}
        return CliRunner().invoke(app, shlex.split(args), env=environment)

    return run
