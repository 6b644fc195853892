"""The one error of secret files: where it happened (file, line, field path) and what is wrong.

Every failure of this package (a key file that does not read, a value that does not decrypt, a
manifest that does not parse) is a :class:`SecretFileError`, so the CLI reports it as one
``error:`` line and the GitOps sync can attach it to a condition. The message is built from its
parts, ``creds/aws.yaml:9: spec.secretData.token: cannot decrypt: ...``, and never holds a secret
value, a decrypted plaintext or a line of a key file: callers pass only a description of the
problem.
"""

from __future__ import annotations

from orbit import errors


class SecretFileError(errors.OrbitError):
    """A secret file, key file or encrypted value that cannot be used."""

    reason = "Invalid"
    code = 422

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = source or ""
        if line:
            where = f"{source}:{line}" if source else f"line {line}"
        parts = [part for part in (where, field, problem) if part]
        super().__init__(": ".join(parts))
        self.problem = problem
        self.source = source
        self.line = line
        self.field = field
