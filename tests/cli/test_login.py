"""``orbit login | whoami | token | config | logout`` against a real server: contexts stored
0600, tokens shown once and then only by id, revocation, and which token a command uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from orbit.api import v1alpha1
from orbit.cli import app
from orbit.client import OrbitClient

from .conftest import Cli


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_login_stores_a_private_context_and_commands_use_it(
    cli: Cli, server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = os.environ["ORBIT_TOKEN"]
    monkeypatch.delenv("ORBIT_TOKEN")
    # Without a token the server refuses, and the CLI says how to fix it.
    code, _, err = run("--server", server_url, "get", "namespaces")
    assert code == 1 and "authentication required" in err

    token_file = tmp_path / "admin.token"
    token_file.write_text(admin + "\n")
    code, out, err = run(
        "login", "--server", server_url, "--token-file", str(token_file), "--context", "lab"
    )
    assert code == 0, err
    assert 'as admin; context "lab"' in out
    config_path = Path(os.environ["ORBIT_CONFIG"])
    assert oct(config_path.stat().st_mode & 0o777) == "0o600"
    saved = yaml.safe_load(config_path.read_text())
    assert saved["current-context"] == "lab"
    assert saved["contexts"] == [{"name": "lab", "server": server_url, "token": admin}]

    # The current context gives server and token; --server alone borrows its token.
    assert run("get", "namespaces")[0] == 0
    assert run("--server", server_url, "get", "namespaces")[0] == 0
    code, out, _ = run("whoami")
    assert code == 0 and "admin" in out and "global-admin" in out
    code, out, _ = run("config", "get-contexts")
    assert "lab" in out and admin not in out

    # A read-only token for a new user, shown once; list shows ids only.
    with OrbitClient(server_url, token=admin) as orbit:
        orbit.create(v1alpha1.User(metadata=v1alpha1.ObjectMeta(name="dana")))
    code, out, err = run("token", "create", "--user", "dana", "--scope", "read", "--ttl", "2h")
    assert code == 0, err
    dana = out.strip()
    assert dana.startswith("orbit_") and "not shown again" in err
    code, out, _ = run("token", "list", "--user", "dana")
    token_id = dana.removeprefix("orbit_").split("_", 1)[0]
    assert token_id in out and dana not in out and "read" in out and "active" in out

    code, _, err = run("login", "--server", server_url, "--context", "dana", input=dana + "\n")
    assert code == 0, err
    code, out, _ = run("whoami")
    assert "dana" in out
    code, _, err = run("get", "namespaces")
    assert code == 1 and "may not list namespaces" in err

    code, _, _ = run("--context", "lab", "token", "revoke", token_id)
    assert code == 0
    code, _, err = run("whoami")
    assert code == 1 and "revoked" in err

    assert run("config", "use-context", "lab")[0] == 0
    assert run("whoami")[0] == 0
    assert run("logout", "--context", "dana")[0] == 0
    code, _, err = run("config", "use-context", "dana")
    assert code == 1 and 'no context "dana"' in err
