"""``orbit secrets``: age-encrypted secret values in manifest files, for GitOps repositories.

``keygen`` makes an identity, ``encrypt``/``decrypt`` rewrite files in place (only the secret
values change), ``edit`` opens the plaintext in ``$EDITOR`` and encrypts it back, and ``check``
lists what must not be committed (exit 1), for a git pre-commit hook or the pre-commit
framework. The work is :mod:`orbit.secretfiles`'s; this module only picks keys and files:

- recipients: ``-r``/``-R`` if given, else the nearest ``.age-recipients`` from the file's
  directory up to the repository root;
- identity: ``-i``, else ``$ORBIT_AGE_IDENTITY``, else ``~/.config/orbit/age.key`` (where
  ``keygen`` writes by default).

None of these commands talks to an Orbit server. Failures are ``SecretFileError``s, reported
as one ``error:`` line by :class:`orbit.cli.context.OrbitGroup`; commands over several files
report each failed file and go on with the rest, as ``apply`` does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from orbit import secretfiles
from orbit.cli import context

secrets_app = typer.Typer(
    name="secrets",
    help="Encrypt the secret values of manifest files with age, to keep them in git.",
    no_args_is_help=True,
)

IdentityOpt = Annotated[
    Path | None,
    typer.Option(
        "-i",
        "--identity",
        envvar="ORBIT_AGE_IDENTITY",
        show_envvar=True,
        help="age identity file, or unencrypted SSH private key "
        "(default: ~/.config/orbit/age.key).",
    ),
]
RecipientOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-r",
        "--recipient",
        help="Encrypt to this age1... or ssh-ed25519/ssh-rsa public key (repeat).",
    ),
]
RecipientsFileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "-R",
        "--recipients-file",
        help="Encrypt to the recipients in this file (repeat). Without -r or -R: the "
        "nearest .age-recipients, up to the repository root.",
    ),
]


def default_identity_file() -> Path:
    """Where the identity lives when ``-i`` is not given (``keygen``'s default output)."""
    configured = os.environ.get("ORBIT_AGE_IDENTITY")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "orbit" / "age.key"


@secrets_app.command("keygen")
def keygen(
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the identity here (default: $ORBIT_AGE_IDENTITY, else "
            "~/.config/orbit/age.key). Never overwrites a file.",
        ),
    ] = None,
) -> None:
    """Create an age identity (mode 0600) and print its public key, the recipient."""
    target = output or default_identity_file()
    identity = secretfiles.generate_identity()
    secretfiles.write_identity(target, identity)
    typer.echo(f"identity written to {target}; its public key (recipient):", err=True)
    typer.echo(identity.recipient)


@secrets_app.command("encrypt")
def encrypt(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Manifest files.")],
    recipient: RecipientOpt = None,
    recipients_file: RecipientsFileOpt = None,
    stdout: Annotated[
        bool, typer.Option("--stdout", help="Print the result instead of rewriting the file.")
    ] = False,
) -> None:
    """Encrypt every plaintext secret value in place (values already encrypted stay as they are)."""
    explicit = _explicit_recipients(recipient, recipients_file)
    failed = False
    for path in files:
        try:
            recipients = explicit or _discovered_recipients(path)
            original = secretfiles.read_text(path)
            result = secretfiles.encrypt_text(original, recipients, source=str(path))
        except secretfiles.SecretFileError as exc:
            context.report(exc)
            failed = True
            continue
        if stdout:
            typer.echo(result, nl=False)
        elif result == original:
            typer.echo(f"{path}: nothing to encrypt")
        else:
            secretfiles.write_text(path, result)
            typer.echo(f"{path}: encrypted")
    if failed:
        raise typer.Exit(1)


@secrets_app.command("decrypt")
def decrypt(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Manifest file.")],
    identity: IdentityOpt = None,
    in_place: Annotated[
        bool,
        typer.Option("--in-place", help="Rewrite the file in plain text instead of printing it."),
    ] = False,
) -> None:
    """Print the file with its secret values decrypted (or rewrite it with --in-place)."""
    identities = _identities(identity)
    result = secretfiles.decrypt_text(secretfiles.read_text(file), identities, source=str(file))
    if in_place:
        secretfiles.write_text(file, result)
        typer.echo(f"{file}: decrypted (do not commit it like this)", err=True)
    else:
        typer.echo(result, nl=False)


@secrets_app.command("edit")
def edit(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Manifest file.")],
    identity: IdentityOpt = None,
    recipient: RecipientOpt = None,
    recipients_file: RecipientsFileOpt = None,
) -> None:
    """Edit the decrypted file in $EDITOR, then encrypt it back (unchanged values stay)."""
    identities = _identities(identity)
    recipients = _explicit_recipients(recipient, recipients_file) or _discovered_recipients(file)
    changed = secretfiles.edit_file(
        file, identities=identities, recipients=recipients, retry=_ask_to_retry
    )
    typer.echo(f"{file}: {'encrypted' if changed else 'no changes'}")


@secrets_app.command("check")
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="PATH", help="Files and directories (default: .)."),
    ] = None,
    staged: Annotated[
        bool,
        typer.Option(
            "--staged",
            help="Check what the next commit records (git's index), not the files on disk: "
            "the pre-commit hook's mode. PATHs, if any, limit it.",
        ),
    ] = False,
) -> None:
    """List plaintext secrets and private keys as FILE:LINE: MESSAGE; exit 1 if any (pre-commit)."""
    if staged:
        findings = secretfiles.check_staged(paths or [])
    else:
        findings = secretfiles.check(paths or [Path(".")])
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        raise typer.Exit(1)


def _identities(path: Path | None) -> list[secretfiles.Identity]:
    target = path or default_identity_file()
    if path is None and not target.exists():
        raise secretfiles.SecretFileError(
            f"no identity: {target} does not exist (create one with `orbit secrets keygen`, "
            "or give -i / set ORBIT_AGE_IDENTITY)"
        )
    return secretfiles.load_identities(target)


def _explicit_recipients(
    recipients: list[str] | None, files: list[Path] | None
) -> list[secretfiles.Recipient]:
    found = [secretfiles.parse_recipient(text, source="-r") for text in recipients or []]
    for path in files or []:
        found += secretfiles.load_recipients(path)
    return found


def _discovered_recipients(path: Path) -> list[secretfiles.Recipient]:
    found = secretfiles.find_recipients_file(path)
    if found is None:
        raise secretfiles.SecretFileError(
            f"no recipients: give -r or -R, or put a {secretfiles.RECIPIENTS_FILE} file in "
            "this directory or one above it (up to the repository root)",
            source=str(path),
        )
    return secretfiles.load_recipients(found)


def _ask_to_retry(exc: secretfiles.SecretFileError) -> bool:
    """After an edit that does not parse: reopen the editor, if a person is there to ask."""
    if not sys.stdin.isatty():
        return False
    context.report(exc)
    return typer.confirm("Edit again?", default=True)
