"""How the CLI fails: one `error:` line (plus causes), exit 1; usage errors exit 2; no
tracebacks; --server and ORBIT_SERVER choose the server."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from orbit.cli import app
from orbit.client import OrbitClient

from .conftest import Cli
from .helpers import cluster, setup


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_server_is_one_line_with_what_to_do() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = CliRunner().invoke(app, ["--server", url, "get", "clusters"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: cannot reach Orbit at {url} (connection refused). Is it running? "
        "Start it with `orbit up`, or set --server / ORBIT_SERVER.\n"
    )


def test_server_from_the_environment(server_url: str, client: OrbitClient) -> None:
    setup(client, cluster())
    result = CliRunner().invoke(app, ["get", "cd"], env={"ORBIT_SERVER": server_url})
    assert result.exit_code == 0, result.output
    assert "dev" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        "get cd ghost",
        "describe cd ghost",
        "delete cd ghost",
        "scale cluster ghost --workers 1",
        "events",
    ],
)
def test_expected_errors_never_show_a_traceback(cli: Cli, command: str) -> None:
    result = cli(command)
    assert "Traceback" not in result.output
    if result.exit_code:
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ")
        assert len(result.stderr.splitlines()) == 1


def test_invalid_create_prints_each_cause(cli: Cli, client: OrbitClient) -> None:
    setup(client)
    result = cli("create cluster Bad_Name --template sim-small --set workers=11 --ttl 1h")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ")
    assert all(line.startswith("  ") for line in lines[1:])
    assert any(line.startswith("  metadata.name: ") for line in lines[1:])


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("get").exit_code == 2
    assert cli("scale cluster dev").exit_code == 2  # --workers is required
    assert cli("scale cluster dev --workers -1").exit_code == 2
    assert cli("delete cd dev --timeout later").exit_code == 2
    assert cli("frobnicate").exit_code == 2


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("apply", "get", "describe", "delete", "create", "scale", "upgrade", "events"):
        assert command in result.stdout
