"""Age keys: identities (who can decrypt) and recipients (who a value is encrypted to).

The formats are age's own, so keys made here work with the ``age`` CLI and the other way round:

- an identity file holds ``AGE-SECRET-KEY-1...`` lines, ``#`` comments and blank lines (what
  ``age-keygen`` writes), or is an unencrypted SSH private key (``ssh-ed25519``/``ssh-rsa``);
- a recipient is an ``age1...`` public key or an ``ssh-ed25519``/``ssh-rsa`` public key line; a
  recipients file holds one per line, with comments and blank lines, like ``age -R``.

:class:`Identity` and :class:`Recipient` wrap pyrage's objects because pyrage ships no type
information; this module and :mod:`orbit.secretfiles.tokens` are the only ones that touch it.
Errors name the file and line but never repeat a line of an identity file: it may be a key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage  # type: ignore[import-untyped]  # no stubs and no py.typed marker

from orbit.secretfiles import files
from orbit.secretfiles.errors import SecretFileError

#: The file ``orbit secrets encrypt`` looks for, from a file's directory up to the repository root.
RECIPIENTS_FILE = ".age-recipients"

_SECRET_PREFIX = "AGE-SECRET-KEY-1"
_SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")


class Identity:
    """A private key that decrypts: an age X25519 identity or an SSH private key."""

    __slots__ = ("label", "native")

    def __init__(self, native: Any, *, label: str) -> None:
        self.native = native
        self.label = label  # where it came from ("age.key:3"); never the key itself

    def __repr__(self) -> str:
        return f"Identity({self.label})"


class Recipient:
    """A public key that values are encrypted to."""

    __slots__ = ("native", "text")

    def __init__(self, native: Any, *, text: str) -> None:
        self.native = native
        self.text = text

    def __repr__(self) -> str:
        return f"Recipient({self.text})"


@dataclass(frozen=True)
class GeneratedIdentity:
    """A new X25519 key pair, as ``orbit secrets keygen`` writes it."""

    secret: str = field(repr=False)
    recipient: str

    def file_text(self, *, created: datetime | None = None) -> str:
        """The identity file, in ``age-keygen``'s layout so the ``age`` CLI reads it."""
        stamp = (created or datetime.now(UTC)).replace(microsecond=0).isoformat()
        return f"# created: {stamp}\n# public key: {self.recipient}\n{self.secret}\n"


def generate_identity() -> GeneratedIdentity:
    native = pyrage.x25519.Identity.generate()
    return GeneratedIdentity(secret=str(native), recipient=str(native.to_public()))


def parse_identities(text: str, *, source: str) -> list[Identity]:
    """The identities of an identity file's text; ``source`` names the file in errors."""
    if text.lstrip().startswith("-----BEGIN"):
        return [_ssh_identity(text, source=source)]
    identities: list[Identity] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(_SECRET_PREFIX):
            problem = "not an age identity (expected AGE-SECRET-KEY-1..., a comment or a blank)"
            if line.startswith("AGE-PLUGIN-"):
                problem = "age plugin identities are not supported"
            raise SecretFileError(problem, source=source, line=number)
        try:
            native = pyrage.x25519.Identity.from_str(line)
        except pyrage.IdentityError:
            raise SecretFileError(
                "not a valid age identity (damaged key?)", source=source, line=number
            ) from None
        identities.append(Identity(native, label=f"{source}:{number}"))
    if not identities:
        raise SecretFileError("no identity in this file", source=source)
    return identities


def load_identities(path: str | os.PathLike[str]) -> list[Identity]:
    return parse_identities(files.read_text(path), source=str(path))


def parse_recipient(text: str, *, source: str | None = None, line: int | None = None) -> Recipient:
    """One recipient: an ``age1...`` key or an ``ssh-ed25519``/``ssh-rsa`` public key line."""
    text = text.strip()
    try:
        if text.startswith("age1"):
            return Recipient(pyrage.x25519.Recipient.from_str(text), text=text)
        if text.split(" ", 1)[0] in _SSH_KEY_TYPES:
            return Recipient(pyrage.ssh.Recipient.from_str(text), text=text)
    except pyrage.RecipientError:
        raise SecretFileError(
            f"not a valid recipient: {text[:80]} (damaged or truncated key?)",
            source=source,
            line=line,
        ) from None
    problem = "not a recipient: expected an age1... public key or an ssh-ed25519/ssh-rsa key"
    if text.startswith("AGE-SECRET-KEY"):
        # Someone passed their private key: say so, without repeating it.
        problem = "this is an age secret key, not a recipient: give its public key (age1...)"
    raise SecretFileError(problem, source=source, line=line)


def parse_recipients(text: str, *, source: str) -> list[Recipient]:
    """The recipients of a recipients file's text (one a line, ``#`` comments, blank lines)."""
    recipients = [
        parse_recipient(raw, source=source, line=number)
        for number, raw in enumerate(text.splitlines(), start=1)
        if raw.strip() and not raw.strip().startswith("#")
    ]
    if not recipients:
        raise SecretFileError("no recipient in this file", source=source)
    return recipients


def load_recipients(path: str | os.PathLike[str]) -> list[Recipient]:
    return parse_recipients(files.read_text(path), source=str(path))


def find_recipients_file(start: str | os.PathLike[str]) -> Path | None:
    """The nearest :data:`RECIPIENTS_FILE` from ``start`` (a file or directory) upwards,
    stopping at the repository root (a directory holding ``.git``): keys of one repository must
    not leak in from an enclosing one."""
    here = Path(start).resolve()
    if not here.is_dir():
        here = here.parent
    while True:
        candidate = here / RECIPIENTS_FILE
        if candidate.is_file():
            return candidate
        if (here / ".git").exists() or here.parent == here:
            return None
        here = here.parent


def write_identity(path: str | os.PathLike[str], identity: GeneratedIdentity) -> None:
    """Write a new identity file readable only by its owner; never replaces an existing file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # Created 0600 in one step: a chmod afterwards leaves a moment where others could read.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SecretFileError(
            "already exists; refusing to overwrite an identity (choose another file with -o)",
            source=str(target),
        ) from None
    except OSError as exc:
        raise SecretFileError(f"cannot create: {exc.strerror or exc}", source=str(target)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(identity.file_text())


def _ssh_identity(text: str, *, source: str) -> Identity:
    try:
        native = pyrage.ssh.Identity.from_buffer(text.encode())
    except pyrage.IdentityError as exc:
        problem = "not a usable SSH private key (ssh-ed25519 or ssh-rsa)"
        if "decrypted" in str(exc):
            problem = "passphrase-protected SSH keys are not supported; use an age identity"
        raise SecretFileError(problem, source=source) from None
    return Identity(native, label=source)
