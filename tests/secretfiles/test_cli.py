"""``orbit secrets keygen|encrypt|decrypt|edit``: the real CLI on real files and keys."""

from __future__ import annotations

import base64
import json
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import Result

from orbit import secretfiles

from .conftest import Orbit
from .test_text import PEM, credential

MANIFEST = """\
# AWS account of team A
apiVersion: orbit.k8or.io/v1alpha1
kind: Credential
metadata:
  name: aws  # production
spec:
  provider: sim
  secretData:
    accessKey: "AKIA-example"
    secretKey: "wJalr-example"
    key: |
      -----BEGIN OPENSSH PRIVATE KEY-----
      b3BlbnNzaC1rZXktdjE
      -----END OPENSSH PRIVATE KEY-----
"""


def fails(result: Result, message: str) -> bool:
    """Whether a command failed as the CLI reports expected errors: one line, exit 1."""
    return (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {message}\n")


def refused(orbit: Orbit, args: str, message: str, *, keeps: Path, **env: str) -> bool:
    """Whether ``orbit ARGS`` :func:`fails` with ``message`` and leaves ``keeps`` as it was."""
    before = keeps.read_bytes()
    return fails(orbit(args, **env), message) and keeps.read_bytes() == before


def encrypted(path: Path, orbit: Orbit, text: str = MANIFEST) -> Path:
    """``path`` holding ``text``, encrypted by ``orbit secrets encrypt`` to the repo's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    result = orbit(f"secrets encrypt {path}")
    assert result.exit_code == 0, result.output
    return path


def secret_data(path: Path) -> dict[str, str]:
    data: dict[str, str] = yaml.safe_load(path.read_text())["spec"]["secretData"]
    return data


def test_keygen_writes_a_private_identity_and_prints_the_recipient(
    tmp_path: Path, orbit: Orbit
) -> None:
    target = tmp_path / "new" / "age.key"
    result = orbit(f"secrets keygen -o {target}")
    assert result.exit_code == 0, result.output
    recipient = result.stdout.strip()
    assert recipient.startswith("age1")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    token = secretfiles.encrypt_value("v", [secretfiles.parse_recipient(recipient)])
    assert secretfiles.decrypt_value(token, secretfiles.load_identities(target)) == "v"

    assert refused(
        orbit,
        f"secrets keygen -o {target}",
        f"{target}: already exists; refusing to overwrite an identity "
        "(choose another file with -o)",
        keeps=target,
    )


def test_keygen_defaults_to_the_identity_decrypt_uses(tmp_path: Path, orbit: Orbit) -> None:
    default = tmp_path / "home" / ".config" / "orbit" / "age.key"
    keygen = orbit("secrets keygen", ORBIT_AGE_IDENTITY="")
    assert keygen.exit_code == 0, keygen.output
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    manifest = tmp_path / "c.yaml"
    manifest.write_text(MANIFEST)
    assert orbit(f"secrets encrypt {manifest} -r {keygen.stdout.strip()}").exit_code == 0
    result = orbit(f"secrets decrypt {manifest}", ORBIT_AGE_IDENTITY="")
    assert (result.exit_code, result.stdout) == (0, MANIFEST)


def test_encrypt_in_place_with_recipients_from_the_repository(repo: Path, orbit: Orbit) -> None:
    manifest = repo / "clusters" / "prod" / "aws.yaml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(MANIFEST)
    result = orbit(f"secrets encrypt {manifest}")
    assert (result.exit_code, result.stdout) == (0, f"{manifest}: encrypted\n")
    sealed = manifest.read_text()
    assert "example" not in sealed and "BEGIN" not in sealed
    assert all(secretfiles.is_token(v) for v in secret_data(manifest).values())
    assert sealed.startswith("# AWS account of team A\n")
    assert "  name: aws  # production\n" in sealed

    assert orbit(f"secrets encrypt {manifest}").stdout == f"{manifest}: nothing to encrypt\n"
    assert manifest.read_text() == sealed
    decrypted = orbit(f"secrets decrypt {manifest}")
    assert (decrypted.exit_code, decrypted.stdout) == (0, MANIFEST)
    assert manifest.read_text() == sealed  # stdout by default


def test_encrypt_to_given_recipients_and_to_stdout(tmp_path: Path, orbit: Orbit) -> None:
    manifest = tmp_path / "aws.yaml"
    manifest.write_text(MANIFEST)
    alice, bob = secretfiles.generate_identity(), secretfiles.generate_identity()
    (tmp_path / "team.txt").write_text(f"# bob\n{bob.recipient}\n")
    result = orbit(
        f"secrets encrypt {manifest} --stdout -r {alice.recipient} -R team.txt", cwd=tmp_path
    )
    assert result.exit_code == 0, result.output
    assert manifest.read_text() == MANIFEST  # untouched
    for person in (alice, bob):
        identities = secretfiles.parse_identities(person.file_text(), source="k")
        assert secretfiles.decrypt_text(result.stdout, identities) == MANIFEST


def test_encrypt_without_recipients_says_what_to_do(tmp_path: Path, orbit: Orbit) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    manifest = root / "aws.yaml"
    manifest.write_text(MANIFEST)
    assert refused(
        orbit,
        f"secrets encrypt {manifest}",
        f"{manifest}: no recipients: give -r or -R, or put a .age-recipients file in "
        "this directory or one above it (up to the repository root)",
        keeps=manifest,
    )


def test_decrypt_in_place_keeps_the_file_mode(repo: Path, orbit: Orbit) -> None:
    manifest = repo / "aws.yaml"
    manifest.write_text(MANIFEST)
    manifest.chmod(0o640)
    assert orbit(f"secrets encrypt {manifest}").exit_code == 0
    result = orbit(f"secrets decrypt --in-place {manifest}")
    assert result.exit_code == 0, result.output
    assert manifest.read_text() == MANIFEST
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o640
    assert [p.name for p in repo.iterdir() if p.name.startswith(".aws")] == []


def test_decrypt_with_the_wrong_identity_is_one_line(repo: Path, orbit: Orbit) -> None:
    encrypted(repo / "creds" / "aws.yaml", orbit)
    other = repo.parent / "other.key"
    secretfiles.write_identity(other, secretfiles.generate_identity())
    assert fails(
        orbit(f"secrets decrypt creds/aws.yaml -i {other}", cwd=repo),
        "creds/aws.yaml:9: spec.secretData.accessKey: cannot decrypt: "
        "no identity matches this value's recipients",
    )


def test_decrypt_without_an_identity_says_what_to_do(tmp_path: Path, orbit: Orbit) -> None:
    manifest = tmp_path / "aws.yaml"
    manifest.write_text(MANIFEST)
    result = orbit(f"secrets decrypt {manifest}", ORBIT_AGE_IDENTITY="")
    assert result.exit_code == 1
    assert "no identity: " in result.stderr and "orbit secrets keygen" in result.stderr


def editor_script(tmp_path: Path, body: str) -> str:
    """An $EDITOR: a Python script that records what it was given, then runs ``body``."""
    script = tmp_path / "editor.py"
    script.write_text(
        textwrap.dedent(
            """\
            import json, os, stat, sys
            path = sys.argv[1]
            seen = {
                "path": path,
                "file_mode": stat.S_IMODE(os.stat(path).st_mode),
                "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
                "text": open(path).read(),
            }
            open(os.path.join(os.path.dirname(sys.argv[0]), "seen.json"), "w").write(
                json.dumps(seen)
            )
            text = seen["text"]
            """
        )
        + textwrap.dedent(body)
    )
    return f"{sys.executable} {script}"


def editor_cleaned_up(tmp_path: Path) -> bool:
    """Whether the private directory the editor was given is gone."""
    seen = json.loads((tmp_path / "seen.json").read_text())
    return not Path(seen["path"]).parent.exists()


def test_edit_changes_one_value_and_keeps_the_others_ciphertext(
    repo: Path, tmp_path: Path, orbit: Orbit
) -> None:
    manifest = encrypted(repo / "aws.yaml", orbit)
    before = manifest.read_text()
    old = secret_data(manifest)
    editor = editor_script(
        tmp_path,
        """\
        text = text.replace("wJalr-example", "rotated")
        open(path, "w").write(text)
        """,
    )
    result = orbit(f"secrets edit {manifest}", EDITOR=editor, VISUAL="")
    assert (result.exit_code, result.stdout) == (0, f"{manifest}: encrypted\n"), result.output

    seen: dict[str, Any] = json.loads((tmp_path / "seen.json").read_text())
    assert seen["text"] == MANIFEST  # the editor saw the plaintext
    assert (seen["file_mode"], seen["dir_mode"]) == (0o600, 0o700)
    assert not Path(seen["path"]).exists() and not Path(seen["path"]).parent.exists()
    assert not str(seen["path"]).startswith(str(repo))

    new = secret_data(manifest)
    assert new["accessKey"] == old["accessKey"] and new["key"] == old["key"]
    assert new["secretKey"] != old["secretKey"]
    changed = [
        a
        for a, b in zip(before.splitlines(), manifest.read_text().splitlines(), strict=True)
        if a != b
    ]
    assert changed == [f'    secretKey: "{old["secretKey"]}"']
    assert orbit(f"secrets decrypt {manifest}").stdout == MANIFEST.replace(
        "wJalr-example", "rotated"
    )


def test_edit_that_does_not_parse_leaves_the_file_untouched(
    repo: Path, tmp_path: Path, orbit: Orbit
) -> None:
    manifest = encrypted(repo / "aws.yaml", orbit, credential({"token": "t", "key": PEM}))
    before = manifest.read_text()
    editor = editor_script(tmp_path, 'open(path, "a").write("  broken: [\\n")\n')
    result = orbit(f"secrets edit {manifest}", VISUAL=editor)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {manifest}: line ")
    assert "invalid YAML" in result.stderr and "left unchanged" in result.stderr
    assert manifest.read_text() == before
    assert editor_cleaned_up(tmp_path)


def test_edit_without_changes_and_with_a_failing_editor(
    repo: Path, tmp_path: Path, orbit: Orbit
) -> None:
    manifest = encrypted(repo / "aws.yaml", orbit)
    before = manifest.read_text()
    unchanged = orbit(f"secrets edit {manifest}", EDITOR=editor_script(tmp_path, ""), VISUAL="")
    assert (unchanged.exit_code, unchanged.stdout) == (0, f"{manifest}: no changes\n")
    assert manifest.read_text() == before
    failing = editor_script(tmp_path, 'open(path, "w").write("changed")\nsys.exit(3)\n')
    assert refused(
        orbit,
        f"secrets edit {manifest}",
        f"{manifest}: the editor exited with status 3; the file was left unchanged",
        keeps=manifest,
        EDITOR=failing,
        VISUAL="",
    )
    assert editor_cleaned_up(tmp_path)


@pytest.mark.skipif(shutil.which("age") is None, reason="the age CLI is not installed")
def test_the_age_cli_opens_a_value(repo: Path, key_file: Path, orbit: Orbit) -> None:
    manifest = encrypted(repo / "aws.yaml", orbit)
    token = secret_data(manifest)["key"]
    ciphertext = base64.b64decode(token[len("ENC[age,") : -1])
    opened = subprocess.run(
        ["age", "-d", "-i", str(key_file)], input=ciphertext, capture_output=True, check=True
    )
    assert opened.stdout.decode() == yaml.safe_load(MANIFEST)["spec"]["secretData"]["key"]
