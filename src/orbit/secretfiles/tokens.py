"""One encrypted value: the ``ENC[age,<base64>]`` token that replaces a secret in a manifest.

The base64 is standard (with padding, on one line) and decodes to a complete binary age file,
encrypted separately for each value to every recipient, so a single value can be opened with
the ``age`` CLI alone: ``echo <base64> | base64 -d | age -d -i key.txt``. Keeping values apart,
as SOPS does, lets a reviewer see which secret changed and lets unchanged ones keep their exact
ciphertext across edits.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import pyrage  # type: ignore[import-untyped]  # no stubs and no py.typed marker

from orbit.secretfiles.errors import SecretFileError
from orbit.secretfiles.keys import Identity, Recipient

PREFIX = "ENC[age,"
SUFFIX = "]"
#: The first line of every age file (binary format, version 1).
AGE_HEADER = b"age-encryption.org/v1\n"


def is_token(value: str) -> bool:
    """Whether ``value`` claims to be encrypted (it may still be damaged: see :func:`problem`)."""
    return value.startswith(PREFIX) and value.endswith(SUFFIX)


def encrypt_value(plaintext: str, recipients: Sequence[Recipient]) -> str:
    if not recipients:
        raise SecretFileError("no recipients to encrypt to")
    ciphertext = bytes(pyrage.encrypt(plaintext.encode(), [r.native for r in recipients]))
    return f"{PREFIX}{base64.b64encode(ciphertext).decode('ascii')}{SUFFIX}"


def decrypt_value(
    token: str,
    identities: Sequence[Identity],
    *,
    source: str | None = None,
    line: int | None = None,
    field: str | None = None,
) -> str:
    """The plaintext of ``token``; the error names the value's place, never its content."""

    def fail(problem: str) -> SecretFileError:
        return SecretFileError(f"cannot decrypt: {problem}", source=source, line=line, field=field)

    ciphertext, damage = _ciphertext(token)
    if ciphertext is None:
        raise fail(damage or "not an ENC[age,...] value")
    if not identities:
        raise fail("no identity given")
    try:
        plaintext = bytes(pyrage.decrypt(ciphertext, [i.native for i in identities]))
    except pyrage.DecryptError as exc:
        if "No matching keys" in str(exc):
            raise fail("no identity matches this value's recipients") from None
        raise fail(f"damaged age file ({exc})") from None
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("the decrypted value is not UTF-8 text") from None


def problem(token: str) -> str | None:
    """What is wrong with a value that claims to be encrypted, or None if it looks sound
    (checked without a key: valid base64 of something that starts like an age file)."""
    return _ciphertext(token)[1]


def _ciphertext(token: str) -> tuple[bytes | None, str | None]:
    if not is_token(token):
        return None, None
    encoded = token[len(PREFIX) : -len(SUFFIX)]
    try:
        ciphertext = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None, "the ENC[age,...] value is not valid base64"
    if not ciphertext.startswith(AGE_HEADER):
        return None, "the ENC[age,...] value is not an age file (no age-encryption.org/v1 header)"
    return ciphertext, None
