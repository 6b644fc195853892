"""orbit audit: list and filter the audit log; orbit audit verify: intact prints the count and
head, a record edited or removed in the database file makes it exit 1 naming that record."""

from __future__ import annotations

import json
import shlex
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orbit.api import v1alpha1
from orbit.cli import app as cli_app
from orbit.cli import audit as audit_cli
from orbit.client import OrbitClient
from orbit.client.errors import UnauthorizedError

from .conftest import ServerThread
from .helpers import credential, namespace


@dataclass
class AuditCli:
    url: str
    token: str
    database: Path

    def __call__(self, command: str) -> Result:
        args = ["--server", self.url, "--token", self.token, *shlex.split(command)]
        return CliRunner().invoke(cli_app, args)

    def ok(self, command: str) -> str:
        result = self(command)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result.stdout

    def client(self) -> OrbitClient:
        return OrbitClient(self.url, token=self.token)

    def sql(self, statement: str) -> None:
        with sqlite3.connect(self.database) as conn:
            conn.execute(statement)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[AuditCli]:
    """A server whose audit log holds: 1 create namespace, 2 create credential, 3 delete it
    (all by admin), 4 a denied create (an unknown token, so anonymous)."""
    database = tmp_path / "orbit.db"
    server = ServerThread(f"sqlite:///{database}")
    url = server.start()
    try:
        audit = AuditCli(url, server.token, database)
        with audit.client() as client:
            client.apply(namespace("default"))
            client.apply(credential("sim-creds"))
            client.delete(v1alpha1.Credential, "sim-creds")
        with (
            OrbitClient(url, token="orbit_unknown_token") as stranger,
            pytest.raises(UnauthorizedError),
        ):
            stranger.create_raw(v1alpha1.Credential, credential("x"))
        yield audit
    finally:
        server.stop()


def test_lists_oldest_first_as_a_table(cli: AuditCli) -> None:
    lines = cli.ok("audit").splitlines()
    assert lines[0].split() == list(audit_cli.HEADERS)
    rows = [line.split() for line in lines[1:]]
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    assert rows[1][2:9] == ["admin", "create", "credentials", "default", "sim-creds", "201",
                            "success"]  # fmt: skip
    assert rows[2][3] == "delete"
    assert rows[3][2] == "anonymous"
    assert rows[3][8] == "denied"
    assert "not valid" in lines[4]


def test_filters_and_formats(cli: AuditCli) -> None:
    data = json.loads(cli.ok("audit --actor admin --resource credentials -o json"))
    assert data["kind"] == "AuditRecordList"
    assert [(r["seq"], r["verb"]) for r in data["items"]] == [(2, "create"), (3, "delete")]
    assert set(data["items"][0]) >= {"at", "source", "path", "code", "prevHash", "hash"}
    assert "verb: delete" in cli.ok("audit --verb delete -o yaml")
    assert len(json.loads(cli.ok("audit --outcome denied -o json"))["items"]) == 1
    assert len(json.loads(cli.ok("audit -n default --name sim-creds -o json"))["items"]) == 2
    assert len(json.loads(cli.ok("audit --since 1h --limit 2 -o json"))["items"]) == 2
    assert json.loads(cli.ok("audit --until 1h -o json"))["items"] == []
    assert len(json.loads(cli.ok("audit --since 2000-01-01T00:00:00Z -o json"))["items"]) == 4
    empty = cli("audit --actor nobody")
    assert (empty.exit_code, empty.stderr) == (0, "No audit records found.\n")
    for bad in ("audit --since yesterday", "audit --limit 0", "audit -o xml"):
        assert cli(bad).exit_code == 2, bad


def test_verify_intact_prints_count_and_head(cli: AuditCli) -> None:
    out = cli.ok("audit verify").splitlines()
    assert out[0] == "audit log intact: 4 records"
    head = out[1].removeprefix("head: ")
    seq, _, digest = head.partition(":")
    assert seq == "4"
    assert len(digest) == 64
    assert cli.ok(f"audit verify --anchor {head}").startswith("audit log intact")
    assert json.loads(cli.ok("audit verify -o json"))["head"] == {"seq": 4, "hash": digest}


def test_verify_names_an_edited_record(cli: AuditCli) -> None:
    cli.sql("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
    result = cli("audit verify")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: audit log broken at record 2 (changed): record 2 was")
    assert "the 1 records before it verify" in result.stderr


def test_verify_names_a_removed_record(cli: AuditCli) -> None:
    cli.sql("DELETE FROM audit_log WHERE seq = 3")
    result = cli("audit verify -o json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["broken"]["seq"] == 3
    assert report["broken"]["problem"] == "missing"
    assert "audit log broken at record 3 (missing)" in result.stderr


def test_verify_rejects_a_malformed_anchor(cli: AuditCli) -> None:
    result = cli("audit verify --anchor 4:nothex")
    assert result.exit_code == 1
    assert "SEQ:HASH" in result.stderr
