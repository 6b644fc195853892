"""Reading and rewriting the files that hold secrets.

A rewrite goes to a new file beside the old one (created with the old file's mode, so a 0600
file never passes through a wider mode) and is renamed over it: an interrupted ``encrypt``
leaves either the old file or the new one, never half of each, and never plaintext left
behind in a stray copy.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from orbit.secretfiles.errors import SecretFileError


def read_text(path: str | os.PathLike[str]) -> str:
    """A file's UTF-8 text; :class:`SecretFileError` naming the file otherwise."""
    try:
        with open(path, encoding="utf-8", newline="") as src:  # keep \r\n: spans are indices
            return src.read()
    except FileNotFoundError:
        raise SecretFileError("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise SecretFileError("is a directory", source=str(path)) from None
    except OSError as exc:
        raise SecretFileError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    except UnicodeDecodeError:
        raise SecretFileError("cannot read: not UTF-8 text", source=str(path)) from None


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path``'s content with ``text`` atomically, keeping its permission bits."""
    target = Path(path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    temp = target.with_name(f".{target.name}.orbit-{secrets.token_hex(4)}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise SecretFileError(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
