"""``orbit admin rotate-key`` and ``OrbitClient.rotate_key``: the request they send and how
the report is shown (the route itself is tested against the real store in test_secrets)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from orbit.cli import admin, context
from orbit.client import OrbitClient

REPORT = {
    "primary": "k2",
    "rewrapped": 3,
    "retired": ["k1"],
    "kept": [],
    "failed": [],
    "remaining": 0,
}


def client_answering(report: dict[str, Any], seen: list[httpx.Request]) -> OrbitClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=report)

    return OrbitClient("http://orbit.test", token="t", transport=httpx.MockTransport(handle))


def test_client_posts_to_the_admin_route() -> None:
    seen: list[httpx.Request] = []
    with client_answering(REPORT, seen) as client:
        assert client.rotate_key() == REPORT
        client.rotate_key(rewrap_only=True)
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/admin/v1/rotate-key")] * 2
    assert "rewrapOnly" not in str(seen[0].url) and seen[1].url.params["rewrapOnly"] == "true"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Any:
    def invoke(report: dict[str, Any], *args: str) -> Any:
        seen: list[httpx.Request] = []
        client = client_answering(report, seen)
        monkeypatch.setattr(context, "client", lambda ctx: client)
        root = typer.Typer()
        root.add_typer(admin.admin_app, name="admin")
        return CliRunner().invoke(root, ["admin", "rotate-key", *args]), seen

    return invoke


def test_cli_prints_the_report(run: Any) -> None:
    result, seen = run(REPORT)
    assert result.exit_code == 0, result.output
    assert "3 secret(s) re-encrypted under key k2" in result.output
    assert "retired keys: k1" in result.output
    result, seen = run(REPORT, "--json", "--rewrap-only")
    assert json.loads(result.output) == REPORT
    assert seen[0].url.params["rewrapOnly"] == "true"


def test_cli_fails_when_secrets_remain_under_old_keys(run: Any) -> None:
    report = {**REPORT, "retired": [], "kept": ["k1"], "failed": ["uid/token: altered"]}
    result, _ = run({**report, "remaining": 1})
    assert result.exit_code == 1
    assert "kept key k1" in result.output and "uid/token: altered" in result.output
