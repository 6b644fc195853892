"""Pure helpers of the CLI: --set values, durations, manifests (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from orbit.cli import cluster, manifests, output
from orbit.errors import BadRequest


def test_set_values_are_yaml_scalars_with_dotted_nesting() -> None:
    values = cluster.parse_values(
        [
            "workers=3",
            "ha=true",
            "ratio=0.25",
            "name=web",
            "empty=",
            "nothing=null",
            "quoted='3'",
            "when=2024-01-01",
            "list=[a, b]",
            "text=a: b",
            "eq=a=b",
            "net.pod.cidr=10.0.0.0/16",
            "net.pod.mtu=1500",
        ]
    )
    assert values == {
        "workers": 3,
        "ha": True,
        "ratio": 0.25,
        "name": "web",
        "empty": "",
        "nothing": None,
        "quoted": "3",
        "when": "2024-01-01",
        "list": "[a, b]",
        "text": "a: b",
        "eq": "a=b",
        "net": {"pod": {"cidr": "10.0.0.0/16", "mtu": 1500}},
    }


@pytest.mark.parametrize(
    "pairs", [["novalue"], ["=1"], ["a..b=1"], ["a=1", "a.b=2"], ["a.b=2", "a=1"]]
)
def test_bad_set_values(pairs: list[str]) -> None:
    with pytest.raises(typer.BadParameter):
        cluster.parse_values(pairs)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (150, "2m30s"),
        (240, "4m"),
        (45 * 60, "45m"),
        (3 * 3600 + 20 * 60, "3h20m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 5 * 3600, "3d5h"),
        (45 * 86400, "45d"),
        (800 * 86400, "2y"),
        (-5, "0s"),
    ],
)
def test_human_durations(seconds: int, text: str) -> None:
    assert output.human_duration(timedelta(seconds=seconds)) == text


def test_until_and_age() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert output.until(now + timedelta(minutes=4, seconds=10), now=now) == "in 4m10s"
    assert output.until(now - timedelta(minutes=1), now=now) == "expired"
    assert output.until(None, now=now) == "-"
    assert output.age(now - timedelta(hours=2), now=now) == "120m"


def test_manifests_flatten_lists_and_skip_empty_documents() -> None:
    text = """
---
kind: List
items:
- {kind: Namespace, metadata: {name: a}}
---
---
kind: Credential
metadata: {name: c}
spec: {provider: sim}
"""
    found = manifests.parse("x.yaml", text)
    assert [(m.doc["kind"], m.index) for m in found] == [("Namespace", 1), ("Credential", 2)]


def test_json_errors_name_line_and_column() -> None:
    with pytest.raises(BadRequest, match=r"^x\.json:2:3: invalid JSON: "):
        manifests.parse("x.json", '{"kind": "Namespace",\n  oops}')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list of strings\n", "(document 1): expected an object"),
        ("kind: Credential\nspec: {}\n", "Credential has no metadata.name"),
        ("metadata: {name: x}\n", "manifest has no kind"),
    ],
)
def test_documents_that_are_not_objects(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        manifests.parse("x.yaml", text)
