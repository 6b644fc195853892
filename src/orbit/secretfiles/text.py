"""Encrypting and decrypting the secret values of a manifest file in place in its text.

A YAML dumper would lose comments, key order, quoting and blank lines, so the file is never
re-dumped: :mod:`orbit.secretfiles.locate` gives each secret value's exact text span, and only
those spans are replaced (an encrypted token always double-quoted; a decrypted multi-line value
as a literal block where it can go). Everything else, comments included, stays byte for byte.

Every rewrite is checked by parsing the result: each replaced value must read back as exactly
the intended string and every other secret as before. If a literal block would not (an
unusual layout around it), the rewrite is redone with double quotes only, which always read
back; if even that fails it is a bug, and the file is refused rather than damaged.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from orbit.secretfiles import locate, render, tokens
from orbit.secretfiles.errors import SecretFileError
from orbit.secretfiles.keys import Identity, Recipient

#: (owner, field path) -> (plaintext, token): what a file held before an edit.
Previous = Mapping[tuple[str, str], tuple[str, str]]
# The line breaks (and blank lines) a block scalar's span swallows after its last line.
_BLOCK_TAIL = re.compile(r"\n[ \t\n]*\Z")


def encrypt_text(text: str, recipients: Sequence[Recipient], *, source: str | None = None) -> str:
    """``text`` with every plaintext secret value encrypted; tokens are left as they are."""
    return encrypt_keeping(text, recipients, previous={}, source=source)


def encrypt_keeping(
    text: str, recipients: Sequence[Recipient], *, previous: Previous, source: str | None = None
) -> str:
    """As :func:`encrypt_text`, but a value whose plaintext is what ``previous`` held at the
    same place gets its old token back, so a diff shows only the values that changed."""

    def encrypt(found: locate.SecretNode, value: str) -> str | None:
        if tokens.is_token(value):
            return None
        held = previous.get((found.owner, found.path))
        if held is not None and held[0] == value:
            return held[1]
        return tokens.encrypt_value(value, recipients)

    if not recipients:
        raise SecretFileError("no recipients to encrypt to", source=source)
    return _rewrite(text, encrypt, source=source)


def decrypt_text(text: str, identities: Sequence[Identity], *, source: str | None = None) -> str:
    """``text`` with every encrypted secret value replaced by its plaintext."""
    return decrypt_recording(text, identities, source=source)[0]


def decrypt_recording(
    text: str, identities: Sequence[Identity], *, source: str | None = None
) -> tuple[str, dict[tuple[str, str], tuple[str, str]]]:
    """:func:`decrypt_text`, and the plaintext and token of each value it decrypted (for
    :func:`encrypt_keeping` after an edit)."""
    record: dict[tuple[str, str], tuple[str, str]] = {}

    def decrypt(found: locate.SecretNode, value: str) -> str | None:
        if not tokens.is_token(value):
            return None
        plaintext = tokens.decrypt_value(
            value, identities, source=source, line=found.line, field=found.path
        )
        record[(found.owner, found.path)] = (plaintext, value)
        return plaintext

    return _rewrite(text, decrypt, source=source), record


def decrypt_document(
    doc: Mapping[str, Any], identities: Sequence[Identity], *, source: str | None = None
) -> dict[str, Any]:
    """A copy of a parsed document with its encrypted secret values decrypted (errors name
    the field; a parsed document has no lines)."""
    out = copy.deepcopy(dict(doc))
    for holder, key, path in locate.secret_slots(out):
        value = holder[key]
        if isinstance(value, str) and tokens.is_token(value):
            holder[key] = tokens.decrypt_value(value, identities, source=source, field=path)
    return out


def secret_value(found: locate.SecretNode, *, source: str | None) -> str | None:
    """The string a secret node holds (None for null, which removes a Credential's value).

    Other scalars (``5432``, ``true``) are secrets too and are taken as their text: they
    come back as strings, which is what ``secretData`` and a Secret's data hold anyway."""
    node = found.node
    if not isinstance(node, yaml.ScalarNode):
        raise _invalid("a secret value must be a string, not a list or mapping", found, source)
    if node.tag == locate.NULL_TAG:
        return None
    try:
        # JSON writes a character beyond U+FFFF as an escaped surrogate pair, which PyYAML
        # reads as two lone surrogates: join them into the character they stand for.
        return str(node.value).encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeError:
        raise _invalid("the value is not valid Unicode (a lone surrogate)", found, source) from None


def _invalid(problem: str, found: locate.SecretNode, source: str | None) -> SecretFileError:
    return SecretFileError(problem, source=source, line=found.line, field=found.path)


def _rewrite(
    text: str,
    change: Callable[[locate.SecretNode, str], str | None],
    *,
    source: str | None,
) -> str:
    found = locate.secret_nodes(text, source=source)
    edits: dict[int, str] = {}
    for index, item in enumerate(found):
        value = secret_value(item, source=source)
        if value is None:
            continue
        if text.startswith("&", item.start) or any(f.node is item.node for f in found[:index]):
            raise _invalid("anchors and aliases are not supported in secret values", item, source)
        new = change(item, value)
        if new is not None:
            edits[index] = new
    if not edits:
        return text
    for blocks in (True, False):
        out = _splice(text, found, edits, blocks=blocks)
        if _reads_back(out, found, edits):
            return out
    raise SecretFileError("cannot rewrite this file without changing its meaning", source=source)


def _splice(
    text: str, found: list[locate.SecretNode], edits: dict[int, str], *, blocks: bool
) -> str:
    parts: list[str] = []
    pos = 0
    for index, new in sorted(edits.items()):
        item = found[index]
        span = text[item.start : item.end]
        tail = ""
        if isinstance(item.node, yaml.ScalarNode) and item.node.style in ("|", ">"):
            match = _BLOCK_TAIL.search(span)
            tail = match.group() if match else ""
        after = tail + text[item.end :]
        rendered = None
        # A block runs to the end of its line: only where nothing (a comment) follows the value.
        if blocks and not item.flow and (after == "" or after.startswith("\n")):
            rendered = render.literal_block(new, indent=item.key_column + 2)
            if rendered is not None and after == "" and new.endswith("\n"):
                rendered += "\n"  # at the end of the file, the final line break is the value's
        parts += [text[pos : item.start], rendered or render.double_quoted(new), tail]
        pos = item.end
    parts.append(text[pos:])
    return "".join(parts)


def _reads_back(out: str, found: list[locate.SecretNode], edits: dict[int, str]) -> bool:
    try:
        again = locate.secret_nodes(out)
    except SecretFileError:
        return False
    if [(f.owner, f.path) for f in again] != [(f.owner, f.path) for f in found]:
        return False
    for index, (before, after) in enumerate(zip(found, again, strict=True)):
        if index in edits:
            node = after.node
            if not (
                isinstance(node, yaml.ScalarNode)
                and node.tag == locate.STR_TAG
                and node.value == edits[index]
            ):
                return False
        elif (before.node.tag, before.node.value) != (after.node.tag, after.node.value):
            return False
    return True
