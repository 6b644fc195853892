"""``edit``: change secret values in a person's editor without plaintext reaching the tree.

The file is decrypted into a fresh private directory (0700, the file itself created 0600) in
the system's temporary area, never beside the original where ``git add`` could pick it up; the
editor runs on it, and the result is encrypted back over the original. A value whose plaintext
did not change keeps its old token byte for byte, so the commit shows only what was edited.
The temporary directory is removed on every way out, errors included.

If the edited text does not parse, the original stays untouched; an interactive caller may
offer to reopen the editor (``retry``) so the edit is not lost.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from orbit.secretfiles import files, text
from orbit.secretfiles.errors import SecretFileError
from orbit.secretfiles.keys import Identity, Recipient


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split as a shell would (``code --wait``)."""
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def edit_file(
    path: str | os.PathLike[str],
    *,
    identities: Sequence[Identity],
    recipients: Sequence[Recipient],
    editor: Sequence[str] | None = None,
    retry: Callable[[SecretFileError], bool] | None = None,
) -> bool:
    """Edit ``path``'s secrets decrypted; True if the file changed, False if the edit did not
    change anything (the file is then left exactly as it was)."""
    source = str(path)
    original = files.read_text(path)
    plain, previous = text.decrypt_recording(original, identities, source=source)
    command = list(editor) if editor is not None else editor_command()
    workdir = Path(tempfile.mkdtemp(prefix="orbit-secrets-"))  # mkdtemp makes it 0700
    try:
        draft = workdir / Path(path).name  # same name: the editor picks the right syntax
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(plain)
        while True:
            _run(command, draft, source=source)
            edited = files.read_text(draft)
            if edited == plain:
                return False
            try:
                updated = text.encrypt_keeping(edited, recipients, previous=previous, source=source)
            except SecretFileError as exc:
                if retry is not None and retry(exc):
                    continue
                raise _discarded(exc, source=source) from None
            break
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    files.write_text(path, updated)
    return True


def _discarded(exc: SecretFileError, *, source: str) -> SecretFileError:
    # The line is the edited text's, which has moved away from the encrypted file's lines.
    where = f"line {exc.line} of the edited text: " if exc.line else ""
    field = f"{exc.field}: " if exc.field else ""
    return SecretFileError(
        f"{where}{field}{exc.problem}; the edit was discarded and the file left unchanged",
        source=source,
    )


def _run(command: list[str], draft: Path, *, source: str) -> None:
    if not command:
        raise SecretFileError("no editor: set $EDITOR", source=source)
    try:
        status = subprocess.run([*command, str(draft)], check=False).returncode
    except OSError as exc:
        raise SecretFileError(
            f"cannot run the editor {command[0]!r}: {exc.strerror or exc} (set $EDITOR)",
            source=source,
        ) from None
    if status != 0:
        raise SecretFileError(
            f"the editor exited with status {status}; the file was left unchanged", source=source
        )
