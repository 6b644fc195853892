"""The event's contract: subjects, wildcard matching, and the JSON Schema in docs/events.md
being the one the code publishes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from orbit.bus import json_schema, subject_for
from orbit.bus.events import subject_matches

DOC = Path(__file__).parents[2] / "docs" / "events.md"


def test_subjects() -> None:
    assert subject_for("team-a", "ClusterDeployment", "web.prod") == (
        "orbit.events.team-a.clusterdeployment.web_prod"
    )
    assert subject_for(None, "Namespace", "x") == "orbit.events._.namespace.x"


def test_wildcards() -> None:
    subject = "orbit.events.ns.clusterdeployment.a"
    assert subject_matches("orbit.events.>", subject)
    assert subject_matches("orbit.events.*.clusterdeployment.*", subject)
    assert not subject_matches("orbit.events.*.serviceset.*", subject)
    assert not subject_matches("orbit.events.ns.clusterdeployment.a.>", subject)
    assert not subject_matches("orbit.events.ns", subject)


def test_documented_schema_is_the_published_one() -> None:
    text = DOC.read_text()
    found = re.search(r"```json\n(\{\n  \"\$defs\".*?)\n```", text, re.S)
    assert found, "docs/events.md has no JSON Schema block"
    assert json.loads(found.group(1)) == json_schema()
