"""``check``: find what must not be committed, in files about to be (a pre-commit hook, CI).

Three kinds of finding, each with its file and line:

- a secret value of a Credential or a Kubernetes Secret (see :mod:`~orbit.secretfiles.locate`)
  that is not an ``ENC[age,...]`` token, or a token that is damaged (not base64, not an age
  file), in ``*.yaml``, ``*.yml`` and ``*.json`` files; such a file that does not parse is a
  finding too, since what it holds cannot be known;
- a PEM private key block (``BEGIN ... PRIVATE KEY``, any flavour) in any text file;
- an age secret key (``AGE-SECRET-KEY-1...``) in any text file.

Binary files are skipped, and so is every ``.git`` directory. Messages say where and what,
never the value.

:func:`check` reads files on disk; :func:`check_staged` reads what ``git commit`` would
record, the index, which is what a pre-commit hook must judge: a plaintext value staged and
then overwritten on disk by an encrypted one is still committed in plain text.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orbit.secretfiles import locate, text, tokens
from orbit.secretfiles.errors import SecretFileError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
# A whole key (bech32 body), so that prose mentioning the prefix is not a finding.
_AGE_SECRET_KEY = re.compile(r"AGE-SECRET-KEY-(?:PQ-)?1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{50,}")
_BINARY_SNIFF = 8192


@dataclass(frozen=True)
class Finding:
    """Something that must not be committed: where, and what."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


def check(paths: Iterable[str | os.PathLike[str]]) -> list[Finding]:
    """The findings of every file in ``paths`` (files, and directories walked recursively)."""
    findings: list[Finding] = []
    for path in paths:
        source = Path(path)
        if source.is_dir():
            findings += [f for file in _walk(source) for f in check_file(file)]
        elif source.exists():
            findings += check_file(source)
        else:
            findings.append(Finding(str(path), None, "no such file or directory"))
    return findings


def check_staged(paths: Iterable[str | os.PathLike[str]] = ()) -> list[Finding]:
    """The findings of every file staged for the next commit (added, copied, modified or
    renamed; limited to ``paths`` when given), as the index holds it, not as the disk does.
    Sources are named relative to the repository's top."""
    specs = [os.fspath(p) for p in paths]
    try:
        top = _git("rev-parse", "--show-toplevel").decode().strip()
        listed = _git("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR", "--", *specs)
    except subprocess.CalledProcessError as exc:
        said = (exc.stderr or b"").decode(errors="replace").strip()
        return [Finding(".", None, f"cannot read the git index: {said or exc}")]
    findings: list[Finding] = []
    for name in filter(None, listed.decode().split("\0")):
        blob = _git("-C", top, "show", f":{name}")
        findings += check_bytes(blob, source=name)
    return findings


def check_file(path: Path) -> list[Finding]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [Finding(str(path), None, f"cannot read: {exc.strerror or exc}")]
    return check_bytes(data, source=str(path))


def check_bytes(data: bytes, *, source: str) -> list[Finding]:
    """The findings of a file's content; binary content has none."""
    if b"\0" in data[:_BINARY_SNIFF]:
        return []
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        return []  # not text: nothing a person would paste a key into
    return check_text(content, source=source)


def check_text(content: str, *, source: str) -> list[Finding]:
    findings: list[Finding] = []
    if source.endswith(MANIFEST_SUFFIXES):
        findings += _manifest_findings(content, source=source)
    for number, line in enumerate(content.split("\n"), start=1):
        if _PEM_PRIVATE_KEY.search(line):
            findings.append(Finding(source, number, "a private key (PEM block) in plain text"))
        if _AGE_SECRET_KEY.search(line):
            findings.append(Finding(source, number, "an age secret key in plain text"))
    return sorted(findings, key=lambda f: f.line or 0)


def _manifest_findings(content: str, *, source: str) -> list[Finding]:
    try:
        found = locate.secret_nodes(content, source=source)
    except SecretFileError as exc:
        return [Finding(source, exc.line, exc.problem)]
    findings: list[Finding] = []
    for item in found:
        try:
            value = text.secret_value(item, source=source)
        except SecretFileError as exc:
            findings.append(Finding(source, item.line, f"{item.path}: {exc.problem}"))
            continue
        if value is None:
            continue
        if not tokens.is_token(value):
            message = f"{item.path}: a secret value in plain text (run: orbit secrets encrypt)"
            findings.append(Finding(source, item.line, message))
        elif problem := tokens.problem(value):
            findings.append(Finding(source, item.line, f"{item.path}: {problem}"))
    return findings


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            yield Path(folder, name)


def _git(*args: str) -> bytes:
    """Run git in the current directory; its stdout (raises on failure)."""
    return subprocess.run(["git", *args], capture_output=True, check=True, timeout=60).stdout
