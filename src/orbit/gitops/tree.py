"""Reading a repository's tree of manifests, keeping where every value came from.

Every ``*.yaml``, ``*.yml`` and ``*.json`` file under the synced path is read (hidden files and
directories, such as ``.git`` and ``.orbit``, are skipped, and so is the write-back tree).
Each YAML document keeps its node tree, so a problem found later (a field pydantic rejects, a
cause admission names by field path) is reported at the file and line of the field itself:
``clusters/demo.yaml:12: spec.config.workers: ...``. Documents that are not Orbit objects
(another ``apiVersion``, such as a plain Kubernetes manifest kept beside them) are skipped; a
file that does not parse is a :class:`Problem` at the line the parser stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from orbit.api import v1alpha1
from orbit.api.causes import parse_field_path

SUFFIXES = (".yaml", ".yml", ".json")
_MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """Something wrong at a place in the tree; ``str()`` is ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line
            else f"{self.file}: {self.message}"
        )


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: its data and its node tree (for line numbers)."""

    file: str  # relative to the repository's root, with '/'
    index: int  # position in the file, from 1
    data: Any
    node: yaml.Node

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    @property
    def source(self) -> str:
        """``file:line`` of the document's start."""
        return f"{self.file}:{self.line}"

    def line_of(self, path: str | Sequence[int | str]) -> int:
        """The line of the deepest field along a field path (``spec.services[0].name``) that
        the document has: a field's own key line; a missing field is reported at the mapping
        that lacks it."""
        parts = parse_field_path(path) if isinstance(path, str) else list(path)
        node, line = self.node, self.node.start_mark.line
        for part in parts:
            found = _child(node, part)
            if found is None:
                break
            node, line = found
        return line + 1

    def problem(self, message: str, path: str | Sequence[int | str] = ()) -> Problem:
        return Problem(self.file, self.line_of(path) if path else self.line, message)


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node, int] | None:
    """The node at ``part`` under ``node`` and the (0-based) line that names it."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value, key.start_mark.line
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item, item.start_mark.line
    return None


def is_orbit_object(data: Any) -> bool:
    """A mapping whose ``apiVersion`` is Orbit's group (any version)."""
    if not isinstance(data, dict):
        return False
    api_version = data.get("apiVersion")
    return isinstance(api_version, str) and api_version.split("/")[0] == v1alpha1.GROUP


def files_under(root: Path, path: str, *, skip: Sequence[str] = ()) -> list[str]:
    """Manifest files under ``root/path``, relative to ``root``, sorted; hidden entries and
    the ``skip`` subtrees (relative to ``root``) left out."""
    base = (root / path).resolve()
    skipped = {(root / s).resolve() for s in skip}
    found: list[str] = []
    if not base.is_dir():
        return found
    for directory, dirs, names in os.walk(base):
        here = Path(directory)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (here / d).resolve() not in skipped
        )
        for name in sorted(names):
            if name.startswith(".") or not name.endswith(SUFFIXES):
                continue
            full = here / name
            if full.is_symlink():
                continue  # a link could point outside the repository
            found.append(str(PurePosixPath(full.relative_to(root.resolve()))))
    return sorted(found)


def read_documents(root: Path, files: Sequence[str]) -> tuple[list[Document], list[Problem]]:
    """The Orbit documents of ``files`` (relative to ``root``) and the problems met reading
    them. A file with a syntax error contributes no document."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for file in files:
        full = root / file
        try:
            if full.stat().st_size > _MAX_FILE_BYTES:
                problems.append(Problem(file, 0, "larger than 4 MiB; split it"))
                continue
            text = full.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(file, 0, "not UTF-8 text"))
            continue
        except OSError as err:
            problems.append(Problem(file, 0, f"cannot read: {err.strerror or err}"))
            continue
        try:
            # All of a file or none of it: a syntax error half-way keeps no document.
            parsed = list(_documents(file, text))
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            if mark is not None and err.context_mark is not None and mark.index >= len(text) - 1:
                mark = err.context_mark  # "got <stream end>": where the open construct began
            problem = err.problem or err.context or "syntax error"
            line = mark.line + 1 if mark else 0
            problems.append(Problem(file, line, f"does not parse: {problem}"))
        except yaml.YAMLError as err:
            problems.append(Problem(file, 0, f"does not parse: {err}"))
        else:
            documents.extend(d for d in parsed if is_orbit_object(d.data))
    return documents, problems


def _documents(file: str, text: str) -> Iterator[Document]:
    loader = yaml.SafeLoader(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            index += 1
            yield Document(file, index, loader.construct_document(node), node)
    finally:
        loader.dispose()
