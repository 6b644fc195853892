"""Where a manifest keeps its secrets, found in the YAML node tree or in a parsed document.

The rule lives in one place, :data:`SECRET_FIELDS`: every value of ``spec.secretData`` of a
``Credential`` and of ``data`` and ``stringData`` of a Kubernetes ``Secret`` (ServiceTemplate
sources may carry those). Objects are found at the top of each document, in a top-level list
(JSON arrays) and in the ``items`` of a ``<Kind>List``, as ``orbit apply`` reads them.

:func:`secret_nodes` works on ``yaml.compose_all``'s node tree rather than on loaded data
because the nodes carry marks: the exact text span of each value (so it can be replaced without
reformatting the file) and its line (so errors and findings say where). :func:`secret_slots`
applies the same rule to an already parsed document, for the GitOps sync.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from orbit.secretfiles.errors import SecretFileError

#: kind -> the paths of the mappings whose every value is a secret.
SECRET_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Credential": (("spec", "secretData"),),
    "Secret": (("data",), ("stringData",)),
}

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class SecretNode:
    """One secret value in a file's text."""

    owner: str  # "Credential/team-a/aws" (or "document 2"): edits match values by owner + path
    path: str  # "spec.secretData.token"
    node: yaml.Node
    key_column: int  # column of the value's key: a block scalar is indented past it
    flow: bool  # inside a flow mapping ({...}, so all of JSON), where block scalars cannot go

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    @property
    def start(self) -> int:
        return self.node.start_mark.index

    @property
    def end(self) -> int:
        return self.node.end_mark.index


def secret_nodes(text: str, *, source: str | None = None) -> list[SecretNode]:
    """Every secret value of every document of ``text``, in file order."""
    found: list[SecretNode] = []
    for number, root in enumerate(compose(text, source=source), start=1):
        for obj, prefix in _objects(root, ""):
            found += _object_secrets(obj, prefix, fallback=f"document {number}")
    return sorted(found, key=lambda s: s.start)


def compose(text: str, *, source: str | None = None) -> list[yaml.Node]:
    """The node tree of each document; :class:`SecretFileError` with the line if it is not YAML."""
    try:
        return [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except yaml.YAMLError as exc:
        if "\t" in text and _is_json(text):
            # JSON may indent with tabs, YAML may not; JSON strings cannot hold a raw tab, so
            # spaces in their place keep every value and every index.
            return compose(text.replace("\t", " "), source=source)
        raise _yaml_error(exc, text, source=source) from None


def secret_slots(doc: Any, *, prefix: str = "") -> Iterator[tuple[dict[str, Any], str, str]]:
    """``(mapping, key, field path)`` of each secret value of a parsed document, so the caller
    can read or replace ``mapping[key]``."""
    if isinstance(doc, list):
        for index, item in enumerate(doc):
            yield from secret_slots(item, prefix=f"{prefix}[{index}]")
        return
    if not isinstance(doc, dict):
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        yield from secret_slots(doc["items"], prefix=join(prefix, "items"))
        return
    for path in SECRET_FIELDS.get(kind, ()) if isinstance(kind, str) else ():
        holder: Any = doc
        for key in path:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict):
            base = join(prefix, *path)
            for key in holder:
                yield holder, key, join(base, str(key))


def join(prefix: str, *keys: str) -> str:
    """A field path as the API's errors write it: ``spec.secretData.token``, ``data[tls.crt]``."""
    for key in keys:
        if _PLAIN_KEY.match(key):
            prefix = f"{prefix}.{key}" if prefix else key
        else:
            prefix = f"{prefix}[{key}]"
    return prefix


def _objects(node: yaml.Node, prefix: str) -> Iterator[tuple[yaml.MappingNode, str]]:
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _objects(item, f"{prefix}[{index}]")
    elif isinstance(node, yaml.MappingNode):
        kind = _scalar(_get(node, "kind"))
        items = _get(node, "items")
        if kind and kind.endswith("List") and isinstance(items, yaml.SequenceNode):
            yield from _objects(items, join(prefix, "items"))
        else:
            yield node, prefix


def _object_secrets(obj: yaml.MappingNode, prefix: str, *, fallback: str) -> list[SecretNode]:
    kind = _scalar(_get(obj, "kind")) or ""
    if kind not in SECRET_FIELDS:
        return []
    meta = _get(obj, "metadata")
    name = _scalar(_get(meta, "name")) if isinstance(meta, yaml.MappingNode) else None
    namespace = _scalar(_get(meta, "namespace")) if isinstance(meta, yaml.MappingNode) else None
    owner = f"{kind}/{namespace or ''}/{name}" if name else fallback
    found: list[SecretNode] = []
    for path in SECRET_FIELDS[kind]:
        holder: yaml.Node | None = obj
        for key in path:
            holder = _get(holder, key) if isinstance(holder, yaml.MappingNode) else None
        if not isinstance(holder, yaml.MappingNode):
            continue
        base = join(prefix, *path)
        for key_node, value in holder.value:
            field = join(base, str(key_node.value))
            flow = bool(holder.flow_style)
            found.append(SecretNode(owner, field, value, key_node.start_mark.column, flow))
    return found


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """A mapping's value for ``key``; the last one wins, as when the file is loaded."""
    found = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found = value
    return found


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG:
        return str(node.value)
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _yaml_error(exc: yaml.YAMLError, text: str, *, source: str | None) -> SecretFileError:
    # Only the problem's own words: str(exc) quotes a snippet of the file, which may be a secret.
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed"
        return SecretFileError(f"invalid YAML: {problem}", source=source, line=line)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return SecretFileError(
            "invalid YAML: a character YAML does not allow", source=source, line=line
        )
    return SecretFileError("invalid YAML", source=source)
