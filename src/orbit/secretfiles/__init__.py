"""Secret values of manifest files encrypted with age, so a git repository can hold them.

GitOps keeps Orbit objects in git, and a ``Credential``'s ``spec.secretData`` (or a Kubernetes
``Secret``'s ``data``/``stringData``) must never be committed in plain text. As with SOPS, the
file stays readable: keys, comments and layout are untouched, and each secret value alone is
replaced by ``ENC[age,<base64 of a binary age file>]``, encrypted to every recipient of the
repository (``.age-recipients``). The format is age's own, so the ``age`` CLI opens any value.

- :mod:`~orbit.secretfiles.keys`: identities and recipients (generate, parse, load, discover);
- :mod:`~orbit.secretfiles.tokens`: one value's ``ENC[age,...]`` token;
- :mod:`~orbit.secretfiles.locate`: which values of a manifest are secrets, and where;
- :mod:`~orbit.secretfiles.text`: encrypting and decrypting a file's text in place;
- :mod:`~orbit.secretfiles.check`: what must not be committed (a pre-commit hook);
- :mod:`~orbit.secretfiles.edit`: editing the plaintext in ``$EDITOR``.

Pure: it imports only the standard library, PyYAML, pyrage and :mod:`orbit.errors` (a layer of
its own in ``.importlinter``), so the CLI, the GitOps sync and scripts can all use it. Every
failure is a :class:`SecretFileError` whose message names the file, line and field path, and
never holds a secret.
"""

from __future__ import annotations

from orbit.secretfiles.check import Finding, check, check_staged
from orbit.secretfiles.edit import edit_file, editor_command
from orbit.secretfiles.errors import SecretFileError
from orbit.secretfiles.files import read_text, write_text
from orbit.secretfiles.keys import (
    RECIPIENTS_FILE,
    GeneratedIdentity,
    Identity,
    Recipient,
    find_recipients_file,
    generate_identity,
    load_identities,
    load_recipients,
    parse_identities,
    parse_recipient,
    parse_recipients,
    write_identity,
)
from orbit.secretfiles.text import decrypt_document, decrypt_text, encrypt_text
from orbit.secretfiles.tokens import decrypt_value, encrypt_value, is_token

__all__ = [
    "RECIPIENTS_FILE",
    "Finding",
    "GeneratedIdentity",
    "Identity",
    "Recipient",
    "SecretFileError",
    "check",
    "check_staged",
    "decrypt_document",
    "decrypt_text",
    "decrypt_value",
    "edit_file",
    "editor_command",
    "encrypt_text",
    "encrypt_value",
    "find_recipients_file",
    "generate_identity",
    "is_token",
    "load_identities",
    "load_recipients",
    "parse_identities",
    "parse_recipient",
    "parse_recipients",
    "read_text",
    "write_identity",
    "write_text",
]
