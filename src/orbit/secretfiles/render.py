"""Writing one string as a YAML scalar that reads back as exactly that string.

Two styles, chosen per value by :mod:`orbit.secretfiles.text`:

- double-quoted, for tokens and one-line values: like ``json.dumps`` but keeping printable
  non-ASCII characters as they are; every escape used (``\\" \\\\ \\n \\t \\r \\uXXXX``) means
  the same in YAML and JSON, so a JSON file stays JSON;
- a literal block (``|``, ``|-``), for multi-line plaintext in block context, because a PEM key
  or a kubeconfig is read and diffed line by line.

A literal block cannot say everything (a carriage return, a character YAML does not allow, more
than one trailing newline), so :func:`literal_block` declines those and the caller falls back to
double quotes.
"""

from __future__ import annotations

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
# Printable for PyYAML, but read as line breaks or a byte-order mark: never written raw.
_SPECIAL = frozenset("\x85\u2028\u2029\ufeff")


def double_quoted(value: str) -> str:
    return '"' + "".join(_escape(char) for char in value) + '"'


def literal_block(value: str, *, indent: int) -> str | None:
    """``value`` as a literal block scalar whose lines start at column ``indent``, from its
    ``|`` header to the end of its last line (without the final line break, which the text
    after the original value supplies); None if a literal block cannot hold ``value``."""
    body = value[:-1] if value.endswith("\n") else value
    if "\n" not in value or body.endswith("\n") or not body.strip():
        return None
    if any(char not in "\t\n" and _needs_escape(char) for char in body):
        return None
    # Indentation is detected from the first line, so one that starts blank or with a space
    # needs it stated (relative to the key's column, which the caller indents from).
    indicator = "2" if body.startswith((" ", "\n")) else ""
    chomping = "" if value.endswith("\n") else "-"
    pad = " " * indent
    lines = "".join(f"\n{pad}{line}" if line else "\n" for line in body.split("\n"))
    return f"|{indicator}{chomping}{lines}"


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if _needs_escape(char):
        return f"\\u{ord(char):04x}"
    return char


def _needs_escape(char: str) -> bool:
    code = ord(char)
    printable = (
        0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code > 0xFFFF
    )
    return not printable or char in _SPECIAL
