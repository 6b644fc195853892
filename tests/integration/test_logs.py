"""Log lines keep the runtime's structured fields, as text and as JSON."""

from __future__ import annotations

import json
import logging

from orbit.server.logs import JsonFormatter, TextFormatter


def record() -> logging.LogRecord:
    rec = logging.LogRecord("orbit.runtime", logging.INFO, __file__, 1, "Ensuring %s", ("x",), None)
    rec.kind, rec.namespace, rec.object_name, rec.reconcile_id = "ClusterDeployment", "a", "x", "r1"
    return rec


def test_text_has_key_value_fields() -> None:
    line = TextFormatter().format(record())
    assert "orbit.runtime: Ensuring x" in line
    assert "kind=ClusterDeployment namespace=a object_name=x reconcile_id=r1" in line


def test_json_is_one_object_per_line() -> None:
    doc = json.loads(JsonFormatter().format(record()))
    assert doc["message"] == "Ensuring x"
    assert (doc["object_name"], doc["reconcile_id"], doc["level"]) == ("x", "r1", "INFO")
