"""Reading manifests for ``orbit apply``: files, directories and stdin, YAML or JSON.

A file is all or nothing: if any document in it does not parse, is not an object, or names an
unknown kind, none of its documents is applied and one error line says where (file, line,
column). A directory means every ``*.yaml``/``*.yml``/``*.json`` directly in it, by name. All
documents are then ordered so what others depend on exists first: Namespaces, Credentials,
ClusterTemplates, then the rest, keeping file order within each group.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orbit.client import kind_of
from orbit.errors import BadRequest

_SUFFIXES = (".yaml", ".yml", ".json")
_ORDER = {"Namespace": 0, "Credential": 1, "ClusterTemplate": 2}


@dataclass(frozen=True)
class Manifest:
    source: str
    index: int  # position of the document in its source, from 1
    doc: dict[str, Any]


@dataclass
class Loaded:
    manifests: list[Manifest]
    errors: list[str]  # one message per rejected file


def load(paths: list[str]) -> Loaded:
    """Every document of ``paths`` in apply order, and the files that were rejected."""
    manifests: list[Manifest] = []
    problems: list[str] = []
    for source, read in _sources(paths, problems):
        try:
            manifests.extend(parse(source, read()))
        except BadRequest as exc:
            problems.append(exc.message)
        except OSError as exc:
            problems.append(f"{source}: cannot read: {exc.strerror or exc}")
        except UnicodeDecodeError:
            problems.append(f"{source}: cannot read: not UTF-8 text")
    manifests.sort(key=lambda m: _ORDER.get(str(m.doc.get("kind")), len(_ORDER)))
    return Loaded(manifests, problems)


def _sources(paths: list[str], problems: list[str]) -> list[tuple[str, Any]]:
    sources: list[tuple[str, Any]] = []
    for raw in paths:
        if raw == "-":
            sources.append(("<stdin>", sys.stdin.read))
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _SUFFIXES)
            if not files:
                problems.append(f"{raw}: no *.yaml, *.yml or *.json files in this directory")
            sources += [(str(p), p.read_text) for p in files]
        elif path.exists():
            sources.append((raw, path.read_text))
        else:
            problems.append(f"{raw}: no such file or directory")
    return sources


def parse(source: str, text: str) -> list[Manifest]:
    """The object documents of one file; BadRequest naming file, line and column if any
    document is malformed."""
    if source.endswith(".json"):
        try:
            docs: list[Any] = [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise BadRequest(
                f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
            ) from None
    else:
        try:
            docs = list(yaml.safe_load_all(text))
        except yaml.MarkedYAMLError as exc:
            raise BadRequest(_yaml_message(source, exc)) from None
        except yaml.YAMLError as exc:
            raise BadRequest(f"{source}: invalid YAML: {exc}") from None
    out: list[Manifest] = []
    for index, doc in enumerate(_flatten(docs), start=1):
        where = f"{source} (document {index})"
        if not isinstance(doc, dict):
            raise BadRequest(f"{where}: expected an object with apiVersion, kind and metadata")
        try:
            kind_of(doc)
        except BadRequest as exc:
            raise BadRequest(f"{where}: {exc.message}") from None
        meta = doc.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            raise BadRequest(f"{where}: {doc['kind']} has no metadata.name")
        out.append(Manifest(source, index, doc))
    return out


def _flatten(docs: list[Any]) -> list[Any]:
    """Skip empty documents; unpack JSON arrays and ``<Kind>List`` objects into items."""
    out: list[Any] = []
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, list):
            out += doc
        elif isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
            out += doc.get("items") or []
        else:
            out.append(doc)
    return out


def _yaml_message(source: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = exc.problem or exc.context or "invalid YAML"
    return f"{where}: invalid YAML: {problem}"
