"""``orbit secrets check``: every kind of plaintext is found with its line, exit 1; a clean
encrypted tree passes silently with exit 0; ``--staged`` judges git's index, not the disk."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from orbit import secretfiles

from .conftest import Orbit
from .test_text import PEM, credential


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_each_kind_of_plaintext_with_its_line(repo: Path, recipients: Any, orbit: Orbit) -> None:
    encrypted = secretfiles.encrypt_text(credential({"ok": "sealed"}), recipients)
    write(repo / "creds" / "sealed.yaml", encrypted)
    write(repo / "creds" / "aws.yaml", credential({"user": "ENC[age,bm90IGFnZQ==]", "token": "x"}))
    write(
        repo / "apps" / "secret.yml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
        "stringData:\n  password: hunter2\ndata:\n  tls.key: 'ENC[age,%%%]'\n",
    )
    write(repo / "apps" / "broken.yaml", "kind: Credential\nspec: [unclosed\n")
    key_text = "notes\n" + PEM.replace("OPENSSH", "EC")
    write(repo / "notes" / "deploy.txt", key_text)
    write(repo / "notes" / "key.md", f"do not\n\ncommit {secretfiles.generate_identity().secret}\n")
    write(repo / "notes" / "prose.md", "Keys look like AGE-SECRET-KEY-1... and that is fine.\n")
    write(repo / ".git" / "keys.txt", secretfiles.generate_identity().secret)  # never looked at
    (repo / "blob.bin").write_bytes(b"\0\1" + PEM.encode())  # binary: skipped

    result = orbit("secrets check", cwd=repo)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "apps/broken.yaml:3: invalid YAML: expected ',' or ']', but got '<stream end>'",
        "apps/secret.yml:6: stringData.password: a secret value in plain text "
        "(run: orbit secrets encrypt)",
        "apps/secret.yml:8: data[tls.key]: the ENC[age,...] value is not valid base64",
        "creds/aws.yaml:8: spec.secretData.user: the ENC[age,...] value is not an age file "
        "(no age-encryption.org/v1 header)",
        "creds/aws.yaml:9: spec.secretData.token: a secret value in plain text "
        "(run: orbit secrets encrypt)",
        "notes/deploy.txt:2: a private key (PEM block) in plain text",
        "notes/key.md:3: an age secret key in plain text",
    ]
    assert "hunter2" not in result.output


def test_pem_private_keys_of_every_flavour(tmp_path: Path) -> None:
    flavours = ["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA ", "PGP "]
    lines = [f"-----BEGIN {f}PRIVATE KEY{' BLOCK' if f == 'PGP ' else ''}-----" for f in flavours]
    path = write(tmp_path / "keys.pem", "\n".join(["-----BEGIN CERTIFICATE-----", *lines]))
    findings = secretfiles.check([path])
    assert [f.line for f in findings] == list(range(2, 2 + len(flavours)))


def test_plaintext_inside_a_list_and_a_json_file(tmp_path: Path) -> None:
    listed = write(
        tmp_path / "list.json",
        '{"kind": "List", "items": [\n {"kind": "Credential", "metadata": {"name": "a"},\n'
        '  "spec": {"secretData": {"token": "plain"}}}]}\n',
    )
    assert [str(f) for f in secretfiles.check([listed])] == [
        f"{listed}:3: items[0].spec.secretData.token: a secret value in plain text "
        "(run: orbit secrets encrypt)"
    ]


def test_clean_encrypted_tree_passes_silently(repo: Path, recipients: Any, orbit: Orbit) -> None:
    text = credential({"token": "t", "key": PEM})
    write(repo / "creds" / "aws.yaml", secretfiles.encrypt_text(text, recipients))
    write(repo / "README.md", "Encrypted with orbit secrets.\n")
    write(repo / "templates" / "app.yaml", "kind: ConfigMap\ndata: {plain: fine}\n")
    result = orbit("secrets check", cwd=repo)
    assert (result.exit_code, result.output) == (0, "")


def test_file_names_as_the_pre_commit_framework_passes_them(repo: Path, orbit: Orbit) -> None:
    bad = write(repo / "a.yaml", credential({"token": "plain"}))
    good = write(repo / "b.yaml", "kind: Namespace\nmetadata: {name: x}\n")
    result = orbit(f"secrets check {good} {repo / 'gone.yaml'}")
    assert result.exit_code == 1
    assert result.stdout == f"{repo / 'gone.yaml'}: no such file or directory\n"
    assert orbit(f"secrets check {good}").exit_code == 0
    assert orbit(f"secrets check {bad} {good}").stdout.startswith(f"{bad}:8: ")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def test_staged_checks_what_the_commit_records_not_the_disk(tmp_path: Path, orbit: Orbit) -> None:
    repo = tmp_path / "work"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    leaked = write(repo / "creds" / "aws.yaml", credential({"token": "staged-plain"}))
    write(repo / "creds" / "b.yaml", "kind: Namespace\nmetadata: {name: x}\n")
    _git(repo, "add", "-A")
    # Replaced on disk after staging: the disk is clean, the commit would not be.
    write(leaked, "kind: Namespace\nmetadata: {name: y}\n")
    assert orbit("secrets check", cwd=repo).exit_code == 0

    staged = orbit("secrets check --staged", cwd=repo / "creds")  # from a subdirectory too
    assert staged.exit_code == 1, staged.output
    assert staged.stdout.splitlines() == [
        "creds/aws.yaml:8: spec.secretData.token: a secret value in plain text "
        "(run: orbit secrets encrypt)"
    ]
    assert "staged-plain" not in staged.output
    assert orbit("secrets check --staged creds/b.yaml", cwd=repo).exit_code == 0  # PATHs limit

    # The other way round: plaintext only on disk, a clean file staged: the commit is clean.
    _git(repo, "add", "-A")
    write(leaked, credential({"token": "unstaged-plain"}))
    assert orbit("secrets check --staged", cwd=repo).exit_code == 0
    assert orbit("secrets check", cwd=repo).exit_code == 1


def test_staged_outside_a_repository_says_so(tmp_path: Path, orbit: Orbit) -> None:
    result = orbit("secrets check --staged", cwd=tmp_path, GIT_CEILING_DIRECTORIES=str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.startswith(".: cannot read the git index: fatal: not a git repository")
